package domain_test

import (
	"testing"

	"flashlive/domain"
)

func TestFlashOrderIDCarriesItsEvent(t *testing.T) {
	id := domain.FlashOrderID("01kabc", "evt_01kxyz")
	if got, want := id, "ord_01kabc_01kxyz"; got != want {
		t.Fatalf("FlashOrderID = %q, want %q", got, want)
	}
	if got, want := domain.KindOfID(id), domain.PrefixOrder; got != want {
		t.Fatalf("KindOfID = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		id, event string
		ok        bool
	}{
		{id, "evt_01kxyz", true},
		{"ord_01kabc", "", false},     // a cart order
		{"ord_01kabc_", "", false},    // no event part
		{"ord_a_b_c", "", false},      // too many parts
		{"evt_01kabc_01k", "", false}, // not an order
		{"", "", false},
	} {
		ev, ok := domain.EventOfFlashOrder(tc.id)
		if ev != tc.event || ok != tc.ok {
			t.Errorf("EventOfFlashOrder(%q) = %q, %v; want %q, %v", tc.id, ev, ok, tc.event, tc.ok)
		}
	}
}
