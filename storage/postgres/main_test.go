package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/storage/postgres"
)

// testParams make argon2id cheap: the tests check the flows, not the cost.
var testParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// testSecret signs the tests' access tokens.
var testSecret = []byte("flashlive-test-secret-0123456789")

// testQueryTimeout is the adapter tests' deadline per call: longer than
// the server's, because make test runs every package at once on two cores
// (a race of 400 calls once timed out at 2 s and opened the breaker). The
// deadline and the breaker themselves are tested in pool_test.go.
const testQueryTimeout = 10 * time.Second

// mustOpen opens a fresh database of the test's own, migrated, closed when
// the test ends.
func mustOpen(t testing.TB) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.OpenWith(ctx, testenv.PostgresURL(t), postgres.Options{QueryTimeout: testQueryTimeout})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// clock is a time source the test moves by hand; safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock returns a clock at the current time, cut to PostgreSQL's
// microsecond precision so that times round-trip exactly.
func newClock() *clock {
	return &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// env is one fresh database with every service on it and a clock the test
// controls.
type env struct {
	db       *postgres.DB
	clock    *clock
	auth     *postgres.AuthService
	products *postgres.ProductService
	rooms    *postgres.LiveRoomService
	events   *postgres.FlashEventService
}

// newEnv returns an env whose refresh tokens live refreshTTL (0: the
// default).
func newEnv(t testing.TB, refreshTTL time.Duration) *env {
	t.Helper()
	db := mustOpen(t)
	c := newClock()
	db.Now = c.Now
	tokens, err := auth.NewTokens(testSecret, 0, nil)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return &env{
		db:       db,
		clock:    c,
		auth:     postgres.NewAuthService(db, auth.NewHasher(testParams, 0), tokens, refreshTTL),
		products: postgres.NewProductService(db),
		rooms:    postgres.NewLiveRoomService(db),
		events:   postgres.NewFlashEventService(db),
	}
}

var userSeq atomic.Int64

// user creates an account with role and returns it as a principal.
func (e *env) user(t testing.TB, role domain.Role) domain.Principal {
	t.Helper()
	n := userSeq.Add(1)
	u, err := e.auth.CreateUser(context.Background(), domain.Registration{
		Email:       fmt.Sprintf("user%d@example.com", n),
		Password:    "correct horse battery",
		DisplayName: fmt.Sprintf("User %d", n),
		Role:        role,
	})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", role, err)
	}
	return domain.Principal{UserID: u.ID, Role: u.Role}
}

// product creates a published product of seller with stock units.
func (e *env) product(t testing.TB, seller domain.Principal, stock int) *domain.Product {
	t.Helper()
	p, err := e.products.CreateProduct(as(seller), domain.ProductCreate{
		Name: "Lamp", Description: "A lamp", PriceCents: 1999, Stock: stock, Published: true,
	})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	return p
}

// room creates a SCHEDULED live room of seller.
func (e *env) room(t testing.TB, seller domain.Principal) *domain.LiveRoom {
	t.Helper()
	r, err := e.rooms.CreateLiveRoom(as(seller), domain.LiveRoomCreate{Title: "Evening sale"})
	if err != nil {
		t.Fatalf("CreateLiveRoom: %v", err)
	}
	return r
}

// eventInput is a valid FlashEventCreate for product starting now on the
// env's clock.
func (e *env) eventInput(productID string, stock int) domain.FlashEventCreate {
	now := e.clock.Now()
	return domain.FlashEventCreate{
		ProductID:    productID,
		PriceCents:   999,
		Stock:        stock,
		PerUserLimit: 2,
		StartsAt:     now,
		EndsAt:       now.Add(time.Hour),
	}
}

// productStock reads a product's stock straight from the table.
func (e *env) productStock(t testing.TB, id string) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT stock FROM products WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatalf("read product stock: %v", err)
	}
	return n
}

// as returns a context carrying p.
func as(p domain.Principal) context.Context {
	return domain.NewContextWithPrincipal(context.Background(), p)
}

// anonymous is the context of a request without a principal.
var anonymous = context.Background()

// wantCode fails the test unless err carries code ("" for nil).
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// ids returns the IDs of things, in order.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func ptr[T any](v T) *T { return &v }
