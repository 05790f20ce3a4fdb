package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/jobs"
)

const (
	tokenMutation    = `mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token expiresAt } }`
	purchaseMutation = `mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome remaining retryAfterMs order { id status totalCents } } }`
)

// purchaseAnswer is the data of a purchaseFlash answer.
type purchaseAnswer struct {
	Outcome      string
	Remaining    *int
	RetryAfterMs *int
	Order        *struct {
		ID, Status string
		TotalCents int64
	}
}

// buyers makes n BUYER accounts straight in the database and returns a
// signed-in client for each: hashing 500 passwords would only test argon2.
func (a *testApp) buyers(t testing.TB, n int) []*client {
	t.Helper()
	ctx := context.Background()
	prefix := fmt.Sprintf("usr_t%d_", time.Now().UnixNano())
	if _, err := a.DB.Pool.Exec(ctx, `
		INSERT INTO users (id, email, display_name, role, password_hash)
		SELECT $1 || i, $1 || i || '@example.com', 'Buyer ' || i, 'BUYER', 'x'
		FROM generate_series(1, $2) AS i`, prefix, n); err != nil {
		t.Fatalf("insert buyers: %v", err)
	}
	tokens, err := auth.NewTokens(a.Config.JWTSecret, time.Hour, a.Now)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*client, n)
	for i := range cs {
		tok, _, err := tokens.Issue(domain.Principal{UserID: fmt.Sprintf("%s%d", prefix, i+1), Role: domain.RoleBuyer})
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = &client{app: a, token: tok}
	}
	return cs
}

// liveEvent creates a seller, a product and an event that is LIVE now,
// for an hour.
func (a *testApp) liveEvent(t testing.TB, stock, perUserLimit int) (seller *client, eventID string) {
	t.Helper()
	return a.liveEventFor(t, stock, perUserLimit, time.Hour)
}

// liveEventFor is liveEvent for an event that ends after d.
func (a *testApp) liveEventFor(t testing.TB, stock, perUserLimit int, d time.Duration) (seller *client, eventID string) {
	t.Helper()
	seller, _ = a.register(t, "SELLER")
	p := seller.newProduct(t, "Flash item", stock)
	now := a.Clock.Now()
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "priceCents": 500, "stock": stock, "perUserLimit": perUserLimit,
		"startsAt": ts(now.Add(-time.Second)), "endsAt": ts(now.Add(d)),
	})
	return seller, ev.ID
}

// purchaseToken gets a purchase token for c, retrying for a while, as a
// client should, while the server answers UNAVAILABLE (an event being
// rebuilt).
func (c *client) purchaseToken(t testing.TB, eventID string) string {
	t.Helper()
	var r gqlResponse
	testenv.WaitForCheck(t, 15*time.Second, "the event to take purchases", func() error {
		if r = c.post(t, tokenMutation, map[string]any{"e": eventID}); r.code() == "UNAVAILABLE" {
			return fmt.Errorf("flashPurchaseToken: %+v", r.Errors)
		}
		return nil
	})
	if len(r.Errors) > 0 {
		t.Fatalf("flashPurchaseToken: %+v", r.Errors)
	}
	var out struct{ FlashPurchaseToken struct{ Token string } }
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out.FlashPurchaseToken.Token
}

// buy sends one purchase attempt.
func (c *client) buy(t testing.TB, eventID, token string, qty int, key string) purchaseAnswer {
	t.Helper()
	var out struct{ PurchaseFlash purchaseAnswer }
	c.must(t, purchaseMutation, map[string]any{"in": map[string]any{
		"eventId": eventID, "token": token, "quantity": qty, "idempotencyKey": key,
	}}, &out)
	return out.PurchaseFlash
}

// orderCounts returns, for the event, the number of orders in
// PostgreSQL, the units in live orders, and the event's sold count.
func (a *testApp) orderCounts(t testing.TB, eventID string) (orders, liveUnits, sold int) {
	t.Helper()
	err := a.DB.Pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM orders WHERE flash_event_id = $1),
		       (SELECT coalesce(sum(i.quantity), 0) FROM orders o JOIN order_items i ON i.order_id = o.id
		         WHERE o.flash_event_id = $1 AND o.status IN ('PENDING','AWAITING_PAYMENT','PAID','COMPLETED')),
		       (SELECT sold FROM flash_events WHERE id = $1)`, eventID).Scan(&orders, &liveUnits, &sold)
	if err != nil {
		t.Fatalf("count orders: %v", err)
	}
	return orders, liveUnits, sold
}

// runSale has every buyer press "buy" attempts times at once, with
// quantities from qty, and returns the answers by buyer.
func runSale(t testing.TB, buyers []*client, eventID string, attempts int, qty func() int) [][]purchaseAnswer {
	t.Helper()
	tokens := make([]string, len(buyers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tokens[i] = b.purchaseToken(t, eventID)
		}()
	}
	wg.Wait()
	answers := make([][]purchaseAnswer, len(buyers))
	var mu sync.Mutex
	var seq atomic.Int64
	for i, b := range buyers {
		for j := 0; j < attempts; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				a := b.buy(t, eventID, tokens[i], qty(), fmt.Sprintf("k-%d", seq.Add(1)))
				mu.Lock()
				answers[i] = append(answers[i], a)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return answers
}

func TestFlashSaleNeverOversells(t *testing.T) {
	for _, tc := range []struct {
		name           string
		limit, maxQty  int
		stock, buyers  int
		attemptsPerBuy int
	}{
		{"one unit each", 1, 1, 100, 500, 4},
		{"up to three units", 3, 3, 100, 500, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := startApp(t, nil)
			_, eventID := app.liveEvent(t, tc.stock, tc.limit)
			buyers := app.buyers(t, tc.buyers)
			answers := runSale(t, buyers, eventID, tc.attemptsPerBuy, func() int { return 1 + rand.IntN(tc.maxQty) })

			reserved, units := 0, 0
			orderIDs := map[string]bool{}
			for i, as := range answers {
				held := 0
				for _, a := range as {
					switch a.Outcome {
					case "RESERVED":
						if a.Order == nil || a.Order.Status != "PENDING" || orderIDs[a.Order.ID] {
							t.Fatalf("RESERVED answer with order %+v", a.Order)
						}
						orderIDs[a.Order.ID] = true
						reserved++
						held += int(a.Order.TotalCents / 500)
					case "SOLD_OUT", "LIMIT_REACHED":
					default:
						t.Fatalf("unexpected outcome %q", a.Outcome)
					}
				}
				if held > tc.limit {
					t.Fatalf("buyer %d holds %d units, limit %d", i, held, tc.limit)
				}
				units += held
			}
			if tc.maxQty == 1 && units != tc.stock {
				t.Fatalf("reserved %d units, want exactly %d", units, tc.stock)
			}
			if units > tc.stock {
				t.Fatalf("reserved %d units of %d: oversold", units, tc.stock)
			}

			app.assertOrdersWritten(t, eventID, orderIDs, units, 30*time.Second)
			var perBuyerMax int
			_ = app.DB.Pool.QueryRow(context.Background(), `SELECT coalesce(max(u), 0) FROM (SELECT sum(i.quantity) u FROM orders o
				JOIN order_items i ON i.order_id = o.id WHERE o.flash_event_id = $1 GROUP BY o.buyer_id) x`, eventID).Scan(&perBuyerMax)
			if perBuyerMax > tc.limit {
				t.Fatalf("a buyer has %d units in PostgreSQL, limit %d", perBuyerMax, tc.limit)
			}

			// Stock conservation, in Redis and PostgreSQL.
			left := app.remaining(t, eventID)
			if left+units != tc.stock {
				t.Fatalf("remaining %d + sold %d != stock %d", left, units, tc.stock)
			}
			app.assertNoDrift(t, eventID)
		})
	}
}

// assertOrdersWritten waits (up to within) until every RESERVED answer of
// the event, orderIDs, is an order in PostgreSQL, then checks that the
// event has exactly those orders, units live units, and units sold.
func (a *testApp) assertOrdersWritten(t testing.TB, eventID string, orderIDs map[string]bool, units int, within time.Duration) {
	t.Helper()
	reserved := len(orderIDs)
	testenv.WaitFor(t, within, "orders to be written", func() bool {
		n, _, _ := a.orderCounts(t, eventID)
		return n >= reserved
	})
	orders, live, sold := a.orderCounts(t, eventID)
	if orders != reserved || live != units || sold != units {
		t.Fatalf("PostgreSQL has %d orders, %d live units, sold %d; want %d, %d, %d", orders, live, sold, reserved, units, units)
	}
	var n int
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders WHERE flash_event_id = $1 AND id = ANY($2)`,
		eventID, keys(orderIDs)).Scan(&n); err != nil || n != reserved {
		t.Fatalf("%d of the %d answered order IDs are in PostgreSQL (%v)", n, reserved, err)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// remaining reads the event's remaining stock through GraphQL.
func (a *testApp) remaining(t testing.TB, eventID string) int {
	t.Helper()
	var out struct{ FlashEvent struct{ Remaining int } }
	a.anon().must(t, `query($id: ID!) { flashEvent(id: $id) { remaining } }`, map[string]any{"id": eventID}, &out)
	return out.FlashEvent.Remaining
}

// driftFunc lets a test function receive the reconciler's drift reports.
type driftFunc func(eventID string, drift int)

func (f driftFunc) ReportDrift(eventID string, drift int) { f(eventID, drift) }

// assertNoDrift runs the reconciler once and fails on any drift.
func (a *testApp) assertNoDrift(t testing.TB, eventID string) {
	t.Helper()
	var drift atomic.Int64
	drift.Store(-1 << 40)
	rc := a.Reconciler
	r := &jobs.Reconciler{
		Events: rc.Events, Orders: rc.Orders, Hot: rc.Hot, Publisher: rc.Publisher, Stream: rc.Stream,
		Live: rc.Live, OrphanAge: rc.OrphanAge, Logger: rc.Logger, Now: rc.Now,
		Drift: driftFunc(func(id string, d int) {
			if id == eventID {
				drift.Store(int64(d))
			}
		}),
	}
	testenv.WaitFor(t, 20*time.Second, "the order stream to settle and reconciliation to check the event", func() bool {
		if err := r.Run(context.Background()); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		return drift.Load() != -1<<40
	})
	if d := drift.Load(); d != 0 {
		t.Fatalf("stock drift = %d, want 0", d)
	}
}

func TestIdempotentPurchase(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 10, 5)
	buyer := app.buyers(t, 1)[0]
	token := buyer.purchaseToken(t, eventID)

	answers := make([]purchaseAnswer, 20)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = buyer.buy(t, eventID, token, 2, "the-same-key")
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Outcome != "RESERVED" || a.Order == nil || a.Order.ID != answers[0].Order.ID || *a.Remaining != *answers[0].Remaining {
			t.Fatalf("answer %d = %+v, want the first answer %+v", i, a, answers[0])
		}
	}
	if got := app.remaining(t, eventID); got != 8 {
		t.Fatalf("remaining = %d after 20 retries of one 2-unit purchase, want 8", got)
	}
	// A new key buys again; the buyer's limit (5) still holds.
	if a := buyer.buy(t, eventID, token, 3, "another-key"); a.Outcome != "RESERVED" {
		t.Fatalf("second purchase = %s", a.Outcome)
	}
	if a := buyer.buy(t, eventID, token, 1, "third-key"); a.Outcome != "LIMIT_REACHED" {
		t.Fatalf("purchase over the limit = %s, want LIMIT_REACHED", a.Outcome)
	}
	testenv.WaitFor(t, 10*time.Second, "two orders", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 2 })
}
