package hotstocktest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

// RunUnpaid runs the contract of domain.UnpaidOrders, whose reference is
// storage/redis's unpaid.lua. newUnpaid returns empty lists of their own;
// each subtest calls it once. The suite passes its own now (T0's hour).
func RunUnpaid(t *testing.T, newUnpaid func(t *testing.T) domain.UnpaidOrders) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, u domain.UnpaidOrders)
	}{
		{"Cap", testUnpaidCap},
		{"Drop", testUnpaidDrop},
		{"Window", testUnpaidWindow},
		{"Written", testUnpaidWritten},
		{"Replayed", testUnpaidReplayed},
		{"Concurrent", testUnpaidConcurrent},
		{"Invalid", testUnpaidInvalid},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newUnpaid(t)) })
	}
}

// window is the payment window of the suite's orders.
const window = 15 * time.Minute

func wantAdmit(t *testing.T, u domain.UnpaidOrders, buyer, order string, now time.Time, max int, want bool) {
	t.Helper()
	got, err := u.Admit(context.Background(), buyer, order, now.Add(window), now, max)
	if err != nil {
		t.Fatalf("Admit(%s, %s, max %d) at %s: %v", buyer, order, max, now.Format(time.TimeOnly), err)
	}
	if got != want {
		t.Fatalf("Admit(%s, %s, max %d) at %s = %v, want %v", buyer, order, max, now.Format(time.TimeOnly), got, want)
	}
}

func mustDrop(t *testing.T, u domain.UnpaidOrders, buyer, order string) {
	t.Helper()
	if err := u.Drop(context.Background(), buyer, order); err != nil {
		t.Fatalf("Drop(%s, %s): %v", buyer, order, err)
	}
}

func testUnpaidCap(t *testing.T, u domain.UnpaidOrders) {
	for i := range 3 {
		wantAdmit(t, u, "usr_a", fmt.Sprintf("ord_%d", i), T0, 3, true)
	}
	wantAdmit(t, u, "usr_a", "ord_3", T0, 3, false)
	// An order listed already is admitted again, and takes no second place.
	wantAdmit(t, u, "usr_a", "ord_1", T0, 3, true)
	wantAdmit(t, u, "usr_a", "ord_3", T0, 3, false)
	// The cap is the caller's: a higher one admits more.
	wantAdmit(t, u, "usr_a", "ord_3", T0, 4, true)
	wantAdmit(t, u, "usr_a", "ord_4", T0, 4, false)
	// Each buyer has a list of their own.
	wantAdmit(t, u, "usr_b", "ord_b0", T0, 1, true)
	wantAdmit(t, u, "usr_b", "ord_b1", T0, 1, false)
}

func testUnpaidDrop(t *testing.T, u domain.UnpaidOrders) {
	wantAdmit(t, u, "usr_a", "ord_0", T0, 2, true)
	wantAdmit(t, u, "usr_a", "ord_1", T0, 2, true)
	wantAdmit(t, u, "usr_a", "ord_2", T0, 2, false)
	// Dropping what is not listed (another buyer's order, an unknown one,
	// twice) changes nothing.
	mustDrop(t, u, "usr_b", "ord_0")
	mustDrop(t, u, "usr_a", "ord_unknown")
	wantAdmit(t, u, "usr_a", "ord_2", T0, 2, false)
	mustDrop(t, u, "usr_a", "ord_0")
	mustDrop(t, u, "usr_a", "ord_0")
	wantAdmit(t, u, "usr_a", "ord_2", T0, 2, true)
	wantAdmit(t, u, "usr_a", "ord_3", T0, 2, false)
	// Dropping every order empties the list.
	mustDrop(t, u, "usr_a", "ord_1")
	mustDrop(t, u, "usr_a", "ord_2")
	wantAdmit(t, u, "usr_a", "ord_4", T0, 2, true)
	wantAdmit(t, u, "usr_a", "ord_5", T0, 2, true)
}

func testUnpaidWindow(t *testing.T, u domain.UnpaidOrders) {
	wantAdmit(t, u, "usr_a", "ord_0", T0, 2, true)
	wantAdmit(t, u, "usr_a", "ord_1", T0.Add(time.Minute), 2, true)
	// Until its window ends an order counts, to the millisecond.
	wantAdmit(t, u, "usr_a", "ord_2", T0.Add(window-time.Millisecond), 2, false)
	// From the end of ord_0's window it no longer does; ord_1 still does.
	wantAdmit(t, u, "usr_a", "ord_2", T0.Add(window), 2, true)
	wantAdmit(t, u, "usr_a", "ord_3", T0.Add(window), 2, false)
	// ord_0 is gone for good: admitting it again lists it anew, in a place
	// of its own, once there is one.
	wantAdmit(t, u, "usr_a", "ord_0", T0.Add(window+time.Minute), 2, true)
	wantAdmit(t, u, "usr_a", "ord_3", T0.Add(window+time.Minute), 2, false)
	// Past every window, the buyer has nothing listed.
	late := T0.Add(3 * window)
	wantAdmit(t, u, "usr_a", "ord_4", late, 2, true)
	wantAdmit(t, u, "usr_a", "ord_5", late, 2, true)
	wantAdmit(t, u, "usr_a", "ord_6", late, 2, false)
}

// written lists the orders of event evt_<n> and key k as written, for
// their purchases key:evt_<n>:k.
func written(t *testing.T, u domain.UnpaidOrders, buyer string, orders map[string]string) {
	t.Helper()
	var rs []domain.Reservation
	for evt, order := range orders {
		rs = append(rs, domain.Reservation{OrderID: order, BuyerID: buyer, EventID: evt, IdempotencyKey: "k"})
	}
	if err := u.Written(context.Background(), rs); err != nil {
		t.Fatalf("Written(%s, %v): %v", buyer, orders, err)
	}
}

func replayed(t *testing.T, u domain.UnpaidOrders, buyer, id, order string) {
	t.Helper()
	if err := u.Replayed(context.Background(), buyer, id, order); err != nil {
		t.Fatalf("Replayed(%s, %s, %s): %v", buyer, id, order, err)
	}
}

// testUnpaidWritten: an order takes its purchase's place and window; an
// order whose purchase is not listed takes none.
func testUnpaidWritten(t *testing.T, u domain.UnpaidOrders) {
	wantAdmit(t, u, "usr_a", "key:evt_1:k", T0, 2, true)
	wantAdmit(t, u, "usr_a", "key:evt_2:k", T0.Add(time.Minute), 2, true)
	written(t, u, "usr_a", map[string]string{"evt_1": "ord_1"})
	// Still two listed: ord_1 and the other purchase.
	wantAdmit(t, u, "usr_a", "key:evt_3:k", T0, 2, false)
	// Written again (a redelivery) or for a purchase not listed: nothing.
	written(t, u, "usr_a", map[string]string{"evt_1": "ord_1"})
	written(t, u, "usr_a", map[string]string{"evt_9": "ord_9"})
	// Without a key: skipped.
	if err := u.Written(context.Background(), []domain.Reservation{{OrderID: "ord_x", BuyerID: "usr_a", EventID: "evt_2"}}); err != nil {
		t.Fatal(err)
	}
	mustDrop(t, u, "usr_a", "ord_1")
	written(t, u, "usr_a", map[string]string{"evt_1": "ord_1"})
	wantAdmit(t, u, "usr_a", "key:evt_3:k", T0.Add(time.Minute), 2, true)
	wantAdmit(t, u, "usr_a", "key:evt_4:k", T0.Add(time.Minute), 2, false)
	// The order keeps its purchase's window: ord_2's ends at T0+1m+window.
	written(t, u, "usr_a", map[string]string{"evt_2": "ord_2"})
	wantAdmit(t, u, "usr_a", "key:evt_4:k", T0.Add(time.Minute+window-time.Millisecond), 2, false)
	wantAdmit(t, u, "usr_a", "key:evt_4:k", T0.Add(time.Minute+window), 2, true)
	// Another buyer's purchase is not theirs to write.
	wantAdmit(t, u, "usr_b", "key:evt_1:k", T0, 1, true)
	written(t, u, "usr_a", map[string]string{"evt_1": "ord_b"})
	wantAdmit(t, u, "usr_b", "key:evt_5:k", T0, 1, false)
}

// testUnpaidReplayed: a retry's purchase leaves once its order is listed,
// never before.
func testUnpaidReplayed(t *testing.T, u domain.UnpaidOrders) {
	wantAdmit(t, u, "usr_a", "key:evt_1:k", T0, 2, true)
	// Not written yet: the purchase stands for the order and stays.
	replayed(t, u, "usr_a", "key:evt_1:k", "ord_1")
	wantAdmit(t, u, "usr_a", "key:evt_2:k", T0, 2, true)
	wantAdmit(t, u, "usr_a", "key:evt_3:k", T0, 2, false)
	written(t, u, "usr_a", map[string]string{"evt_1": "ord_1"})
	// A retry lists the purchase again; once replayed, it leaves, and the
	// order stays.
	mustDrop(t, u, "usr_a", "key:evt_2:k")
	wantAdmit(t, u, "usr_a", "key:evt_1:k", T0, 2, true)
	wantAdmit(t, u, "usr_a", "key:evt_3:k", T0, 2, false)
	replayed(t, u, "usr_a", "key:evt_1:k", "ord_1")
	wantAdmit(t, u, "usr_a", "key:evt_3:k", T0, 2, true)
	wantAdmit(t, u, "usr_a", "key:evt_4:k", T0, 2, false)
	mustDrop(t, u, "usr_a", "ord_1")
	wantAdmit(t, u, "usr_a", "key:evt_4:k", T0, 2, true)
}

// testUnpaidConcurrent: many presses of one buyer at once never pass the
// cap together.
func testUnpaidConcurrent(t *testing.T, u domain.UnpaidOrders) {
	const n, max = 64, 5
	admitted := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			admitted[i], errs[i] = u.Admit(context.Background(), "usr_a", fmt.Sprintf("ord_%02d", i), T0.Add(window), T0, max)
		}()
	}
	wg.Wait()
	got := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Admit %d: %v", i, errs[i])
		}
		if admitted[i] {
			got++
		}
	}
	if got != max {
		t.Fatalf("%d concurrent Admits with cap %d admitted %d, want %d", n, max, got, max)
	}
	wantAdmit(t, u, "usr_a", "ord_late", T0, max, false)
}

func testUnpaidInvalid(t *testing.T, u domain.UnpaidOrders) {
	ctx := context.Background()
	for _, c := range []struct {
		what         string
		buyer, order string
		end          time.Time
		max          int
	}{
		{"no buyer", "", "ord_0", T0.Add(window), 1},
		{"no order", "usr_a", "", T0.Add(window), 1},
		{"a cap of 0", "usr_a", "ord_0", T0.Add(window), 0},
		{"a window ending now", "usr_a", "ord_0", T0, 1},
		{"a window ended", "usr_a", "ord_0", T0.Add(-time.Second), 1},
	} {
		ok, err := u.Admit(ctx, c.buyer, c.order, c.end, T0, c.max)
		if got, want := domain.ErrorCode(err), domain.EINVALID; got != want || ok {
			t.Fatalf("Admit with %s = %v, %v; want false, code %s", c.what, ok, err, want)
		}
	}
	for _, c := range []struct{ buyer, order string }{{"", "ord_0"}, {"usr_a", ""}} {
		if got, want := domain.ErrorCode(u.Drop(ctx, c.buyer, c.order)), domain.EINVALID; got != want {
			t.Fatalf("Drop(%q, %q) code = %s, want %s", c.buyer, c.order, got, want)
		}
	}
	for _, c := range []struct{ buyer, id, order string }{{"", "key:e:k", "ord_0"}, {"usr_a", "", "ord_0"}, {"usr_a", "key:e:k", ""}} {
		if got, want := domain.ErrorCode(u.Replayed(ctx, c.buyer, c.id, c.order)), domain.EINVALID; got != want {
			t.Fatalf("Replayed(%q, %q, %q) code = %s, want %s", c.buyer, c.id, c.order, got, want)
		}
	}
	// Nothing invalid was listed.
	wantAdmit(t, u, "usr_a", "ord_1", T0, 1, true)
}
