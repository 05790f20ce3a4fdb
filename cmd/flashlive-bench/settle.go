package main

import (
	"context"
	"time"
)

const sellerOrdersQuery = `query($e: ID!, $after: String) { sellerOrders(flashEventId: $e, first: 100, after: $after) {
	edges { node { id status buyer { id } items { quantity } } } pageInfo { hasNextPage endCursor } } }`

// sellerOrders reads every order of the event, as its seller sees them.
func (s *sale) sellerOrders(ctx context.Context, event string) ([]orderFact, error) {
	var all []orderFact
	var after any
	for {
		var out struct {
			SellerOrders struct {
				Edges []struct {
					Node struct {
						ID     string
						Status string
						Buyer  struct{ ID string }
						Items  []struct{ Quantity int }
					}
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			} `json:"sellerOrders"`
		}
		if err := s.seller.ep.must(ctx, s.seller.Token, sellerOrdersQuery, map[string]any{"e": event, "after": after}, &out); err != nil {
			return nil, err
		}
		for _, e := range out.SellerOrders.Edges {
			units := 0
			for _, it := range e.Node.Items {
				units += it.Quantity
			}
			all = append(all, orderFact{ID: e.Node.ID, BuyerID: e.Node.Buyer.ID, Status: e.Node.Status, Units: units})
		}
		if !out.SellerOrders.PageInfo.HasNextPage {
			return all, nil
		}
		after = out.SellerOrders.PageInfo.EndCursor
	}
}

// facts gathers what the API and the viewers show of the event now.
func (s *sale) facts(ctx context.Context) (facts, error) {
	var ev struct {
		FlashEvent struct {
			Stock, Remaining, PerUserLimit int
		} `json:"flashEvent"`
	}
	if err := s.seller.ep.must(ctx, s.seller.Token, `query($id: ID!) { flashEvent(id: $id) { stock remaining perUserLimit } }`,
		map[string]any{"id": s.event}, &ev); err != nil {
		return facts{}, err
	}
	orders, err := s.sellerOrders(ctx, s.event)
	if err != nil {
		return facts{}, err
	}
	f := facts{Stock: ev.FlashEvent.Stock, PerUserLimit: ev.FlashEvent.PerUserLimit, Remaining: ev.FlashEvent.Remaining, Orders: orders}
	s.mu.Lock()
	for _, r := range s.reserved {
		f.Reserved = append(f.Reserved, r)
	}
	f.GaveUp = s.gaveUp
	s.mu.Unlock()
	if s.viewers != nil {
		f.ViewerStock, f.ViewerCut = s.viewers.lastStock(s.event)
	}
	return f, nil
}

// settled reports whether in-flight work has landed: every RESERVED
// answer written as an order, none PENDING, every viewer on the stock.
func settled(f facts) bool {
	if len(f.Orders) < len(f.Reserved) {
		return false
	}
	for _, o := range f.Orders {
		if o.Status == "PENDING" {
			return false
		}
	}
	for i, n := range f.ViewerStock {
		if n != f.Remaining && !f.ViewerCut[i] {
			return false
		}
	}
	return true
}

// settle waits, up to -settle, for the orders to be written and the
// viewers to catch up, then returns the facts the invariants are checked on.
func (s *sale) settle(ctx context.Context) (facts, error) {
	p := s.rec.begin("settle")
	defer s.rec.end(p)
	deadline := time.Now().Add(s.cfg.Settle)
	for {
		f, err := s.facts(ctx)
		if err != nil {
			return f, err
		}
		if settled(f) || time.Now().After(deadline) {
			return f, nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return f, err
		}
	}
}
