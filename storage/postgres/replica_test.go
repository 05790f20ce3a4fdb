package postgres_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/storage/postgres"
)

// routes counts where the routed reads went, by reason.
type routes struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *routes) add(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason]++
}

func (r *routes) get(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// replicaEnv is an env whose DB has a streaming replica of the test's own
// attached, with the orders on it too.
type replicaEnv struct {
	*env
	replica *testenv.PostgresReplica
	orders  *postgres.OrderStore
	routes  *routes
}

// newReplicaEnv starts a replica of the test primary, opens a fresh
// database with the replica attached (probed every 20ms, unfit past
// maxLag) and waits until the replica is fit.
func newReplicaEnv(t *testing.T, maxLag time.Duration) *replicaEnv {
	t.Helper()
	rep := testenv.StartPostgresReplica(t, os.Getenv(testenv.PostgresEnv))
	dbURL := testenv.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	rt := &routes{}
	err = db.AttachReplica(ctx, rep.Database(t, dbURL), postgres.ReplicaOptions{
		MaxLag: maxLag, Probe: 20 * time.Millisecond, Marks: &postgres.LocalWriteMarks{}, OnRoute: rt.add,
		OnMarkError: func(err error) { t.Errorf("write mark: %v", err) },
	})
	if err != nil {
		t.Fatalf("AttachReplica: %v", err)
	}
	waitFit(t, db, true)
	tokens, err := auth.NewTokens(testSecret, 0, nil)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	c := newClock()
	db.Now = c.Now
	e := &env{
		db: db, clock: c,
		auth:     postgres.NewAuthService(db, auth.NewHasher(testParams, 0), tokens, 0),
		products: postgres.NewProductService(db),
		rooms:    postgres.NewLiveRoomService(db),
		events:   postgres.NewFlashEventService(db),
	}
	return &replicaEnv{env: e, replica: rep, orders: postgres.NewOrderStore(db, testPaymentTimeout), routes: rt}
}

func waitFit(t *testing.T, db *postgres.DB, fit bool) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "replica fit = "+map[bool]string{true: "true", false: "false"}[fit], func() bool {
		_, now := db.ReplicaLag()
		return now == fit
	})
}

// catalog returns the IDs of the published products an anonymous reader
// sees.
func (e *replicaEnv) catalog(t *testing.T, ctx context.Context) []string {
	t.Helper()
	p, err := e.products.FindProducts(ctx, domain.ProductFilter{PageRequest: domain.PageRequest{First: 50}})
	if err != nil {
		t.Fatalf("FindProducts: %v", err)
	}
	return sorted(ids(p.Items, func(p *domain.Product) string { return p.ID }))
}

// TestReplicaServesCatalogAndOwnWritesStayFresh proves that the catalog
// is read on the replica (a paused replay hides a new product from
// anonymous readers: their read did not reach the primary) while the
// seller who wrote it, and the buyer who just placed and paid an order,
// read their writes at once (on the primary) though the replica lags.
func TestReplicaServesCatalogAndOwnWritesStayFresh(t *testing.T) {
	e := newReplicaEnv(t, time.Minute)
	seller, buyer := e.user(t, domain.RoleSeller), e.user(t, domain.RoleBuyer)
	p1 := e.product(t, seller, 10)
	e.replica.WaitReplayed(t)
	before := e.routes.get(postgres.RouteReplica)
	if got := e.catalog(t, context.Background()); !slices.Equal(got, []string{p1.ID}) {
		t.Fatalf("anonymous catalog = %v, want [%s]", got, p1.ID)
	}
	if e.routes.get(postgres.RouteReplica) <= before {
		t.Fatalf("the anonymous catalog read did not go to the replica: routes %v", e.routes.n)
	}

	e.replica.PauseReplay(t)
	p2 := e.product(t, seller, 10)
	if got := e.catalog(t, context.Background()); !slices.Equal(got, []string{p1.ID}) {
		t.Fatalf("anonymous catalog on the paused replica = %v, want only [%s] (stale: served by the replica)", got, p1.ID)
	}
	if got, want := e.catalog(t, as(seller)), sorted([]string{p1.ID, p2.ID}); !slices.Equal(got, want) {
		t.Fatalf("the seller's catalog right after their write = %v, want %v", got, want)
	}
	if _, err := e.products.FindProductByID(as(seller), p2.ID); err != nil {
		t.Fatalf("the seller's own new product: %v", err)
	}

	o, err := e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 1}}, IdempotencyKey: "replica-1",
	})
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	mine := func() []*domain.Order {
		t.Helper()
		page, err := e.orders.FindOrders(as(buyer), domain.OrderFilter{BuyerID: buyer.UserID, PageRequest: domain.PageRequest{First: 10}})
		if err != nil {
			t.Fatalf("FindOrders: %v", err)
		}
		return page.Items
	}
	if got := mine(); len(got) != 1 || got[0].ID != o.ID || got[0].Status != domain.OrderAwaitingPayment {
		t.Fatalf("the buyer's orders right after placing one = %+v, want [%s AWAITING_PAYMENT]", got, o.ID)
	}
	if _, err := e.orders.PayOrder(as(buyer), o.ID); err != nil {
		t.Fatalf("PayOrder: %v", err)
	}
	if got := mine(); len(got) != 1 || got[0].Status != domain.OrderPaid {
		t.Fatalf("the buyer's orders right after paying = %+v, want [%s PAID]", got, o.ID)
	}
	got, err := e.orders.FindOrderByID(as(buyer), o.ID)
	if err != nil || got.Status != domain.OrderPaid {
		t.Fatalf("FindOrderByID right after paying = %+v, %v; want PAID", got, err)
	}
	if e.routes.get(postgres.RouteOwnWrite) == 0 {
		t.Fatalf("no read went to the primary for its reader's own write: routes %v", e.routes.n)
	}

	e.replica.ResumeReplay(t)
	e.replica.WaitReplayed(t)
	waitReplayedByRouter(t, e, buyer)
	if got, want := e.catalog(t, context.Background()), sorted([]string{p1.ID, p2.ID}); !slices.Equal(got, want) {
		t.Fatalf("anonymous catalog after the replay resumed = %v, want %v", got, want)
	}
	before = e.routes.get(postgres.RouteReplica)
	if got := mine(); len(got) != 1 || got[0].Status != domain.OrderPaid {
		t.Fatalf("the buyer's orders from the replica = %+v, want [%s PAID]", got, o.ID)
	}
	if e.routes.get(postgres.RouteReplica) <= before {
		t.Fatalf("once replayed, the buyer's order list did not go to the replica: routes %v", e.routes.n)
	}
}

// waitReplayedByRouter waits until the router's own probe has seen the
// replica replay the last write of who, so that who's reads go to the
// replica again.
func waitReplayedByRouter(t *testing.T, e *replicaEnv, who domain.Principal) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "the router sees its reader's writes replayed", func() bool {
		before := e.routes.get(postgres.RouteReplica)
		if _, err := e.products.FindProducts(as(who), domain.ProductFilter{PageRequest: domain.PageRequest{First: 1}}); err != nil {
			t.Fatalf("FindProducts: %v", err)
		}
		return e.routes.get(postgres.RouteReplica) > before
	})
}

// TestReplicaDownOrLaggingFallsBackToPrimary proves that no read fails
// because of the replica: while it lags past MaxLag reads go to the
// primary (and see the fresh rows), when it is stopped every read still
// answers, and reads return to the replica once it is fit again.
func TestReplicaDownOrLaggingFallsBackToPrimary(t *testing.T) {
	e := newReplicaEnv(t, 300*time.Millisecond)
	seller := e.user(t, domain.RoleSeller)
	p1 := e.product(t, seller, 1)

	e.replica.PauseReplay(t)
	p2 := e.product(t, seller, 1)
	waitFit(t, e.db, false)
	if lag, _ := e.db.ReplicaLag(); lag <= 300*time.Millisecond {
		t.Fatalf("unfit replica lag = %s, want past MaxLag 300ms", lag)
	}
	if got, want := e.catalog(t, context.Background()), sorted([]string{p1.ID, p2.ID}); !slices.Equal(got, want) {
		t.Fatalf("catalog while the replica lags = %v, want %v (from the primary)", got, want)
	}
	if e.routes.get(postgres.RouteLagging) == 0 {
		t.Fatalf("no read went to the primary for the lag: routes %v", e.routes.n)
	}
	e.replica.ResumeReplay(t)
	waitFit(t, e.db, true)

	e.replica.Stop(t)
	// Until the monitor notices, reads reach the stopped replica, fail,
	// and run again on the primary; after, they go to the primary at once.
	for range 20 {
		if got, want := e.catalog(t, context.Background()), sorted([]string{p1.ID, p2.ID}); !slices.Equal(got, want) {
			t.Fatalf("catalog with the replica stopped = %v, want %v", got, want)
		}
	}
	waitFit(t, e.db, false)
	if got, want := e.catalog(t, context.Background()), sorted([]string{p1.ID, p2.ID}); !slices.Equal(got, want) {
		t.Fatalf("catalog with the replica down = %v, want %v", got, want)
	}
	if e.routes.get(postgres.RouteDown)+e.routes.get(postgres.RouteFailed) == 0 {
		t.Fatalf("no read went to the primary for the stopped replica: routes %v", e.routes.n)
	}

	p3 := e.product(t, seller, 1)
	e.replica.Start(t)
	waitFit(t, e.db, true)
	e.replica.WaitReplayed(t)
	// Fit again, the replica still waits for its breaker, opened by the
	// failed reads, to let a call through (the breaker's own timeout):
	// until then reads go to the primary, and every one must be right.
	before := e.routes.get(postgres.RouteReplica)
	testenv.WaitFor(t, 30*time.Second, "reads to return to the replica", func() bool {
		if got, want := e.catalog(t, context.Background()), sorted([]string{p1.ID, p2.ID, p3.ID}); !slices.Equal(got, want) {
			t.Fatalf("catalog with the replica back = %v, want %v", got, want)
		}
		return e.routes.get(postgres.RouteReplica) > before
	})
}

// TestReplicaWriteMarksKeepTheGreatest pins LocalWriteMarks: a mark
// never moves back, and it is forgotten after its TTL.
func TestReplicaWriteMarksKeepTheGreatest(t *testing.T) {
	ctx := context.Background()
	var m postgres.LocalWriteMarks
	for _, lsn := range []uint64{5, 9, 7} {
		if err := m.Mark(ctx, "u1", lsn, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := m.Last(ctx, "u1"); got != 9 {
		t.Fatalf("Last = %d, want 9", got)
	}
	if got, _ := m.Last(ctx, "u2"); got != 0 {
		t.Fatalf("Last of a user without writes = %d, want 0", got)
	}
	if err := m.Mark(ctx, "u3", 4, time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Second, "an expired mark forgotten", func() bool {
		got, _ := m.Last(ctx, "u3")
		return got == 0
	})
}
