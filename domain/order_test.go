package domain_test

import (
	"testing"

	"flashlive/domain"
)

func TestOrderStatusValid(t *testing.T) {
	for _, tt := range []struct {
		s    domain.OrderStatus
		want bool
	}{
		{domain.OrderPending, true},
		{domain.OrderAwaitingPayment, true},
		{domain.OrderPaid, true},
		{domain.OrderCompleted, true},
		{domain.OrderCancelled, true},
		{domain.OrderExpired, true},
		{"", false},
		{"paid", false},
		{"AWAITING", false},
		{"REFUNDED", false},
	} {
		if got := tt.s.Valid(); got != tt.want {
			t.Errorf("OrderStatus(%q).Valid() = %v, want %v", tt.s, got, tt.want)
		}
	}
}
