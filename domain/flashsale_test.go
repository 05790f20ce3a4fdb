package domain_test

import (
	"slices"
	"testing"
	"time"

	"flashlive/domain"
)

func TestSortOldestFirst(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	rs := []domain.Reservation{
		{OrderID: "ord_c", CreatedAt: t0.Add(time.Second)},
		{OrderID: "ord_b", CreatedAt: t0},
		{OrderID: "ord_a", CreatedAt: t0},
	}
	domain.SortOldestFirst(rs)
	var got []string
	for _, r := range rs {
		got = append(got, r.OrderID)
	}
	if want := []string{"ord_a", "ord_b", "ord_c"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestValidateUnpaidAdmission(t *testing.T) {
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Minute)
	for _, tt := range []struct {
		name      string
		buyer, id string
		end       time.Time
		max       int
		wantValid bool
	}{
		{"valid", "usr_a", "k", later, 1, true},
		{"no buyer", "", "k", later, 1, false},
		{"no id", "usr_a", "", later, 1, false},
		{"cap 0", "usr_a", "k", later, 0, false},
		{"window ends now", "usr_a", "k", now, 1, false},
		{"window ends within the millisecond", "usr_a", "k", now.Add(time.Microsecond), 1, false},
	} {
		err := domain.ValidateUnpaidAdmission(tt.buyer, tt.id, tt.end, now, tt.max)
		if (err == nil) != tt.wantValid || (err != nil && domain.ErrorCode(err) != domain.EINVALID) {
			t.Errorf("%s: err = %v, want valid %v (else INVALID)", tt.name, err, tt.wantValid)
		}
	}
}
