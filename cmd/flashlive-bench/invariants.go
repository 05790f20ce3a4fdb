package main

import (
	"fmt"
	"slices"
)

// facts are what the bench saw of the sale's event, through the public
// API and the room feed: the input of checkInvariants.
type facts struct {
	Stock        int           `json:"stock"`
	PerUserLimit int           `json:"perUserLimit"`
	Remaining    int           `json:"remaining"` // flashEvent.remaining at the end
	Reserved     []reservation `json:"-"`         // the RESERVED answers, one per order ID
	Orders       []orderFact   `json:"-"`         // sellerOrders of the event
	ViewerStock  []int         `json:"-"`         // each viewer's last stock level of the event; -1: none seen
	ViewerCut    []bool        `json:"-"`         // whether the server closed the viewer's socket
	GaveUp       int           `json:"gaveUp"`    // presses given up with no answer after retries
}

// orderFact is one order as sellerOrders shows it.
type orderFact struct {
	ID      string
	BuyerID string
	Status  string
	Units   int
}

// liveStatus reports whether an order in status holds its units.
func liveStatus(status string) bool {
	switch status {
	case "PENDING", "AWAITING_PAYMENT", "PAID", "COMPLETED":
		return true
	}
	return false
}

// invariant is one checked rule: whether it held and, either way, by
// how much.
type invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// checkInvariants checks the sale's rules over what the bench saw. It is
// a pure function: every rule is stated in terms of f alone.
func checkInvariants(f facts) []invariant {
	live := 0
	perBuyer := map[string]int{}
	orders := map[string]orderFact{}
	for _, o := range f.Orders {
		orders[o.ID] = o
		if liveStatus(o.Status) {
			live += o.Units
			perBuyer[o.BuyerID] += o.Units
		}
	}
	var out []invariant
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, invariant{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}

	if live <= f.Stock {
		add("no oversell", true, "%d of %d units in live orders", live, f.Stock)
	} else {
		add("no oversell", false, "%d units in live orders for a stock of %d: oversold by %d", live, f.Stock, live-f.Stock)
	}

	reserved := map[string]bool{}
	for _, r := range f.Reserved {
		reserved[r.OrderID] = true
	}
	if len(reserved) == len(orders) {
		add("RESERVED answers = orders", true, "%d RESERVED answers, %d orders in sellerOrders", len(reserved), len(orders))
	} else {
		d := fmt.Sprintf("%d RESERVED answers but %d orders in sellerOrders (%+d)", len(reserved), len(orders), len(orders)-len(reserved))
		if f.GaveUp > 0 {
			d += fmt.Sprintf("; %d presses got no answer after their retries, which may account for orders the bench never heard of", f.GaveUp)
		}
		add("RESERVED answers = orders", false, "%s", d)
	}

	var missing []string
	for id := range reserved {
		if _, ok := orders[id]; !ok {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	if len(missing) == 0 {
		add("every RESERVED answer has an order", true, "all %d found", len(reserved))
	} else {
		add("every RESERVED answer has an order", false, "%d of %d RESERVED answers have no order, first %q", len(missing), len(reserved), missing[0])
	}

	over, worst := 0, 0
	for _, n := range perBuyer {
		if n > f.PerUserLimit {
			over++
			worst = max(worst, n)
		}
	}
	if over == 0 {
		add("per-buyer limit", true, "no buyer holds more than %d units", f.PerUserLimit)
	} else {
		add("per-buyer limit", false, "%d buyers hold more than %d units, one holds %d (%d over)", over, f.PerUserLimit, worst, worst-f.PerUserLimit)
	}

	if f.Remaining+live == f.Stock {
		add("stock conservation", true, "remaining %d + live %d = stock %d", f.Remaining, live, f.Stock)
	} else {
		add("stock conservation", false, "remaining %d + live %d = %d, not the stock %d (off by %+d)", f.Remaining, live, f.Remaining+live, f.Stock, f.Remaining+live-f.Stock)
	}

	wrong, none, cut := 0, 0, 0
	firstWrong := -1
	for i, n := range f.ViewerStock {
		switch {
		case i < len(f.ViewerCut) && f.ViewerCut[i]:
			cut++
		case n < 0:
			none++
		case n != f.Remaining:
			wrong++
			if firstWrong < 0 {
				firstWrong = n
			}
		}
	}
	if bad := wrong + none + cut; bad == 0 {
		add("every viewer on the final stock", true, "all %d viewers show %d", len(f.ViewerStock), f.Remaining)
	} else {
		d := fmt.Sprintf("%d of %d viewers do not show the final stock %d:", bad, len(f.ViewerStock), f.Remaining)
		if wrong > 0 {
			d += fmt.Sprintf(" %d show another level (first: %d);", wrong, firstWrong)
		}
		if none > 0 {
			d += fmt.Sprintf(" %d saw no stock level of the event;", none)
		}
		if cut > 0 {
			d += fmt.Sprintf(" %d were cut off by the server;", cut)
		}
		add("every viewer on the final stock", false, "%s", d[:len(d)-1])
	}
	return out
}
