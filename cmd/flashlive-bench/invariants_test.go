package main

import (
	"strings"
	"testing"
)

// cleanFacts is a sale that held: stock 10, 6 orders of three buyers
// (one cancelled, one expired), 6 units left, three viewers on 6.
func cleanFacts() facts {
	return facts{
		Stock: 10, PerUserLimit: 2, Remaining: 6,
		Reserved: []reservation{{OrderID: "o1", BuyerID: "a"}, {OrderID: "o2", BuyerID: "a"}, {OrderID: "o3", BuyerID: "b"},
			{OrderID: "o4", BuyerID: "b"}, {OrderID: "o5", BuyerID: "c"}, {OrderID: "o6", BuyerID: "c"}},
		Orders: []orderFact{
			{ID: "o1", BuyerID: "a", Status: "PAID", Units: 1}, {ID: "o2", BuyerID: "a", Status: "AWAITING_PAYMENT", Units: 1},
			{ID: "o3", BuyerID: "b", Status: "PENDING", Units: 1}, {ID: "o4", BuyerID: "b", Status: "CANCELLED", Units: 1},
			{ID: "o5", BuyerID: "c", Status: "COMPLETED", Units: 1}, {ID: "o6", BuyerID: "c", Status: "EXPIRED", Units: 1},
		},
		ViewerStock: []int{6, 6, 6},
		ViewerCut:   []bool{false, false, false},
	}
}

// failing returns the names of the invariants that failed, and their details.
func failing(invs []invariant) (names []string, details string) {
	for _, inv := range invs {
		if !inv.OK {
			names = append(names, inv.Name)
			details += inv.Detail + "\n"
		}
	}
	return names, details
}

func TestCheckInvariantsHoldOnACleanSale(t *testing.T) {
	invs := checkInvariants(cleanFacts())
	if got, want := len(invs), 6; got != want {
		t.Fatalf("%d invariants checked, want %d: %+v", got, want, invs)
	}
	if names, details := failing(invs); len(names) > 0 {
		t.Fatalf("failed on a clean sale: %v\n%s", names, details)
	}
}

// TestCheckInvariantsNameWhatBroke: each broken fact fails exactly the
// invariants it breaks, and the detail says by how much.
func TestCheckInvariantsNameWhatBroke(t *testing.T) {
	for _, tt := range []struct {
		name   string
		breaks func(*facts)
		want   []string
		detail string
	}{
		{"an oversell", func(f *facts) {
			f.Stock = 3
			f.Remaining = 0
			f.ViewerStock = []int{0, 0, 0}
		}, []string{"no oversell", "stock conservation"}, "oversold by 1"},
		{"a RESERVED answer without an order", func(f *facts) {
			f.Reserved = append(f.Reserved, reservation{OrderID: "forged", BuyerID: "d"})
		}, []string{"RESERVED answers = orders", "every RESERVED answer has an order"}, `1 of 7 RESERVED answers have no order, first "forged"`},
		{"an order nobody was told of", func(f *facts) {
			f.Orders = append(f.Orders, orderFact{ID: "o7", BuyerID: "d", Status: "EXPIRED", Units: 1})
			f.GaveUp = 1
		}, []string{"RESERVED answers = orders"}, "1 presses got no answer"},
		{"a buyer past the limit", func(f *facts) { f.PerUserLimit = 1 }, []string{"per-buyer limit"}, "1 buyers hold more than 1 units, one holds 2 (1 over)"},
		{"stock lost", func(f *facts) {
			f.Remaining = 3
			for i := range f.ViewerStock {
				f.ViewerStock[i] = 3
			}
		}, []string{"stock conservation"}, "off by -3"},
		{"a viewer behind", func(f *facts) { f.ViewerStock[1] = 7 }, []string{"every viewer on the final stock"}, "1 show another level (first: 7)"},
		{"a viewer that saw nothing", func(f *facts) { f.ViewerStock[2] = -1 }, []string{"every viewer on the final stock"}, "1 saw no stock level"},
		{"a viewer cut off", func(f *facts) { f.ViewerCut[0] = true }, []string{"every viewer on the final stock"}, "1 were cut off by the server"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cleanFacts()
			tt.breaks(&f)
			names, details := failing(checkInvariants(f))
			if strings.Join(names, "; ") != strings.Join(tt.want, "; ") {
				t.Fatalf("failed %v, want %v\n%s", names, tt.want, details)
			}
			if !strings.Contains(details, tt.detail) {
				t.Fatalf("details %q do not say %q", details, tt.detail)
			}
		})
	}
}
