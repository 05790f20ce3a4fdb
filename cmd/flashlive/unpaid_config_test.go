package main

import (
	"strings"
	"testing"
)

func TestLoadConfigMaxUnpaidOrders(t *testing.T) {
	for _, tt := range []struct {
		in        string
		want, cap int // Config.MaxUnpaidOrders, and the cap it means (0: none)
	}{
		{"", 0, DefaultMaxUnpaidOrders},
		{"0", NoUnpaidCap, 0},
		{"1", 1, 1},
		{" 12 ", 12, 12},
		{"10000", 10_000, 10_000},
	} {
		c, _, err := LoadConfig(cfgDev("FLASHLIVE_MAX_UNPAID_ORDERS", tt.in))
		if err != nil {
			t.Fatalf("FLASHLIVE_MAX_UNPAID_ORDERS=%q: %v", tt.in, err)
		}
		if got := c.MaxUnpaidOrders; got != tt.want {
			t.Fatalf("FLASHLIVE_MAX_UNPAID_ORDERS=%q: MaxUnpaidOrders = %d, want %d", tt.in, got, tt.want)
		}
		if got := c.maxUnpaidOrders(); got != tt.cap {
			t.Fatalf("FLASHLIVE_MAX_UNPAID_ORDERS=%q: cap = %d, want %d", tt.in, got, tt.cap)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"five", `FLASHLIVE_MAX_UNPAID_ORDERS "five" is not a whole number (0 for no cap)`},
		{"2.5", `FLASHLIVE_MAX_UNPAID_ORDERS "2.5" is not a whole number (0 for no cap)`},
		{"-1", "FLASHLIVE_MAX_UNPAID_ORDERS must be between 0 (no cap) and 10000, not -1"},
		{"10001", "FLASHLIVE_MAX_UNPAID_ORDERS must be between 0 (no cap) and 10000, not 10001"},
	} {
		_, _, err := LoadConfig(cfgDev("FLASHLIVE_MAX_UNPAID_ORDERS", tt.in))
		if err == nil || !strings.Contains(err.Error(), "\n  - "+tt.want) {
			t.Fatalf("FLASHLIVE_MAX_UNPAID_ORDERS=%q: error %v, want one naming %q", tt.in, err, tt.want)
		}
	}
}
