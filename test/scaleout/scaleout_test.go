package scaleout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
)

const (
	buyers       = 500
	viewers      = 3000
	perUserLimit = 4
	// Demand is buyers × perUserLimit = 2,000 units, so the sale sells
	// out; each fault's stage sells at most 150, so stock is left for
	// every fault to strike during the rush.
	stock = 1000
	// registered buyers sign up through the balancer; the others are
	// added to the database with the same password hash and tokens signed
	// with the instances' secret: a sign-up costs an Argon2id hash, and
	// 500 of them took minutes on a loaded 2-core machine.
	registered = 20
	// inFlight bounds the presses in flight, as the bench's connections do.
	inFlight = 64
	// Each fault's stage lets buyers make beforeFault + duringFault
	// presses; the fault strikes once beforeFault are answered, while the
	// others are in flight; once it is over (a failover done), afterFault
	// more presses prove the deployment sells again. Then, every press
	// answered, the invariants are checked.
	beforeFault = 30
	duringFault = 60
	afterFault  = 60
)

const purchaseMutation = `mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome retryAfterMs order { id } } }`

// fault is one node lost during the rush.
type fault struct {
	name   string
	strike func(t *testing.T)
}

// TestSaleSurvivesNodeLossBehindBalancer runs a sale of 500 buyers and
// 3,000 viewers through HAProxy over three flashlive instances, a Redis
// Cluster and a NATS cluster, all real processes, and during the rush
// kills, one at a time: a flashlive instance, a NATS node, the Redis
// master that owns the event's slot, and stops the PostgreSQL replica. After each (buyers paused, every
// press answered): every RESERVED answer is exactly one order in
// PostgreSQL and there is no other order, no buyer over the limit, no
// oversell, remaining + sold = stock. At the end the event is sold out and
// every viewer, reconnected through the balancer where its instance died,
// shows 0.
func TestSaleSurvivesNodeLossBehindBalancer(t *testing.T) {
	raiseFDLimit(t, 2*viewers+4*inFlight+1024)
	top := startTopology(t,
		// As scripts/bench-sale.sh: a buyer may press 50 times a second and
		// hold many unpaid orders; the per-address limits stay as they are
		// and see each client's own address through X-Forwarded-For.
		"FLASHLIVE_MAX_UNPAID_ORDERS=10000", "FLASHLIVE_LIMIT_PURCHASE_USER=50/s,burst=100")
	ctx, cancel := context.WithTimeout(context.Background(), 11*time.Minute)
	defer cancel()
	db := dbConn(t, ctx, top)

	s := newSale(t, ctx, top, db)
	au, err := connectAudience(ctx, top.lbURL, s.room, viewers)
	if err != nil {
		t.Fatalf("connect %d viewers through the balancer: %v", viewers, err)
	}
	defer au.close()
	// leastconn spreads the sockets: every instance holds viewers.
	testenv.WaitForCheck(t, 30*time.Second, "viewers on all three instances", func() error {
		sessions, status := top.lbSessions(t)
		for _, app := range []string{"app1", "app2", "app3"} {
			if sessions[app] < viewers/6 || status[app] != "UP" {
				return fmt.Errorf("sessions %v, status %v", sessions, status)
			}
		}
		return nil
	})

	s.startBuyers(ctx)

	evKey := "{ev:" + s.event + "}"
	faults := []fault{
		{"kill -9 of flashlive app2", func(t *testing.T) {
			top.kill9(t, "flashlive app2", "app2/flashlive.pid")
		}},
		{"kill -9 of NATS node n0", func(t *testing.T) {
			top.kill9(t, "NATS node n0", "nats/n0/nats.pid")
		}},
		{"kill -9 of the Redis master of " + evKey, func(t *testing.T) {
			addr := top.slotMaster(t, evKey, "")
			if addr == "" {
				t.Fatalf("no master serves %s", evKey)
			}
			_, port, _ := strings.Cut(addr, ":")
			top.kill9(t, "Redis master "+addr, filepath.Join("redis", port, "redis.pid"))
			var promoted string
			testenv.WaitFor(t, 60*time.Second, "a replica taking over "+evKey, func() bool {
				promoted = top.slotMaster(t, evKey, addr)
				return promoted != "" && promoted != addr
			})
			// The promoted master has no replica: RESERVED answers wait for
			// one (FLASHLIVE_REDIS_MIN_REPLICAS=1), so the lost machine
			// comes back, as a replica of the new master, and the sale
			// goes on.
			top.restartRedisNode(t, port, promoted)
		}},
	}
	if top.readURL != "" {
		faults = append(faults, fault{"stop of the PostgreSQL replica", top.stopReplica})
	} else {
		t.Errorf("the topology has no PostgreSQL replica (scripts/topology.sh printed no FLASHLIVE_TOPOLOGY_READ_URL): its loss is not tested")
	}
	if len(faults)*(beforeFault+duringFault+afterFault) >= stock {
		t.Fatalf("%d faults of %d presses each would sell the stock of %d before the last: raise it", len(faults), beforeFault+duringFault+afterFault, stock)
	}
	for _, f := range faults {
		start := s.granted
		s.grant(beforeFault + duringFault)
		s.waitPressed(t, start+beforeFault, "the rush before the "+f.name)
		f.strike(t)
		s.grant(afterFault)
		s.waitPressed(t, s.granted, "every press answered after the "+f.name)
		s.check(t, ctx, db, "after the "+f.name, false)
	}
	if au.rejoins.Load() == 0 {
		t.Errorf("no viewer reconnected after an instance was killed")
	}

	// The rest of the rush: every buyer presses until SOLD_OUT or the limit.
	s.grant(buyers * perUserLimit)
	testenv.WaitForCheck(t, 3*time.Minute, "every buyer done", func() error {
		if err := s.failure(); err != nil {
			t.Fatal(err)
		}
		if n := s.done.Load(); n < buyers {
			return fmt.Errorf("%d of %d buyers done, %d units reserved", n, buyers, s.reservedUnits.Load())
		}
		return nil
	})
	s.check(t, ctx, db, "at the end of the sale", true)
	testenv.WaitForCheck(t, time.Minute, "every viewer on the final stock 0", func() error {
		if n := au.failed.Load(); n > 0 {
			t.Fatalf("%d viewers could not reconnect through the balancer", n)
		}
		if n, ex := au.notOn(s.event, 0); n > 0 {
			return fmt.Errorf("%d of %d viewers do not show 0 (one shows %d; -1: no stock frame)", n, viewers, ex)
		}
		return nil
	})
	t.Logf("sale of %d units over %d buyers and %d viewers: %d viewer sockets reopened through the balancer", stock, buyers, viewers, au.rejoins.Load())
}

// raiseFDLimit lifts the soft open-files limit to the hard one and fails
// the test when that is below need: the viewers' sockets are one fd each.
func raiseFDLimit(t *testing.T, need uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
	}
	if rl.Cur < need {
		t.Fatalf("open files limit %d, this test needs %d (the viewers' sockets, and HAProxy two per viewer): raise `ulimit -n`", rl.Cur, need)
	}
}

// dbConn connects to the topology's database, read to check the orders.
func dbConn(t *testing.T, ctx context.Context, top *topology) *pgx.Conn {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(top.dir, "urls.env"))
	if err != nil {
		t.Fatal(err)
	}
	var url string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "POSTGRES_URL="); ok {
			url = strings.Trim(v, "'")
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to the topology's database: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// buyer is one signed-in buyer and its client address.
type buyer struct {
	c      *client
	id     string
	token  string
	ptoken string
}

// sale is the event on sale, its buyers and what they were answered.
type sale struct {
	lb       *client // the seller's
	seller   string  // its access token
	room     string
	event    string
	startsAt time.Time // the event's start, on the server's clock
	buyers   []*buyer

	slots         chan struct{} // presses in flight
	tickets       chan struct{} // presses allowed: one is taken before each press
	granted       int           // tickets given so far (by the test's goroutine only)
	pressed       atomic.Int64  // presses answered for good
	reservedUnits atomic.Int64
	done          atomic.Int64 // buyers that ended (sold out or at the limit)

	mu      sync.Mutex
	byKey   map[string]string // idempotency key -> the order its RESERVED answers named
	byOrder map[string]string // order -> the buyer it was answered to
	err     error             // the first buyer's failure
}

// newSale signs up the seller and the first buyers through the balancer
// (each buyer from its client address), adds the others (addBuyers),
// makes the product, the live room and the event, starting in a few
// seconds.
func newSale(t *testing.T, ctx context.Context, top *topology, db *pgx.Conn) *sale {
	t.Helper()
	s := &sale{lb: newClient(top.lbURL, clientAddr(0)), slots: make(chan struct{}, inFlight),
		tickets: make(chan struct{}, 2*buyers*perUserLimit),
		byKey:   map[string]string{}, byOrder: map[string]string{}}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	register := func(c *client, role string, i int) (id, token string, err error) {
		var out struct {
			Register struct {
				AccessToken string
				User        struct{ ID string }
			}
		}
		err = c.must(ctx, "", `mutation($in: RegisterInput!) { register(input: $in) { accessToken user { id } } }`,
			map[string]any{"in": map[string]any{"email": fmt.Sprintf("scaleout-%s-%s%d@test.flashlive.dev", run, role, i),
				"password": "scale-out-password-1", "displayName": fmt.Sprintf("%s %d", role, i), "role": role}}, &out)
		return out.Register.User.ID, out.Register.AccessToken, err
	}
	var err error
	if _, s.seller, err = register(s.lb, "SELLER", 0); err != nil {
		t.Fatalf("sign up the seller: %v", err)
	}
	s.buyers = make([]*buyer, buyers)
	errs := make(chan error, registered)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				b := &buyer{c: newClient(top.lbURL, clientAddr(i))}
				var err error
				if b.id, b.token, err = register(b.c, "BUYER", i); err != nil {
					errs <- fmt.Errorf("sign up buyer %d: %w", i, err)
				}
				s.buyers[i] = b
			}
		})
	}
	for i := range registered {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	s.addBuyers(t, ctx, top, db)

	var cat struct {
		CreateProduct  struct{ ID string }
		CreateLiveRoom struct{ ID string }
	}
	if err := s.lb.must(ctx, s.seller, `mutation($stock: Int!) {
		createProduct(input: {name: "Scale-out earbuds", priceCents: 4999, stock: $stock}) { id }
		createLiveRoom(input: {title: "Scale-out sale"}) { id } }`, map[string]any{"stock": 2 * stock}, &cat); err != nil {
		t.Fatalf("catalog: %v", err)
	}
	s.room = cat.CreateLiveRoom.ID
	if err := s.lb.must(ctx, s.seller, `mutation($id: ID!) { startLiveRoom(id: $id) { id } }`, map[string]any{"id": s.room}, nil); err != nil {
		t.Fatalf("start the room: %v", err)
	}
	var now struct{ ServerTime time.Time }
	if err := s.lb.must(ctx, "", `{ serverTime }`, nil, &now); err != nil {
		t.Fatal(err)
	}
	// The viewers connect before the start: it is a few seconds off.
	startsAt := now.ServerTime.Add(5 * time.Second)
	var ev struct{ CreateFlashEvent struct{ ID string } }
	if err := s.lb.must(ctx, s.seller, `mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"productId": cat.CreateProduct.ID, "liveRoomId": s.room, "priceCents": 1999,
			"stock": stock, "perUserLimit": perUserLimit, "startsAt": startsAt.UTC().Format(time.RFC3339Nano),
			"endsAt": startsAt.Add(time.Hour).UTC().Format(time.RFC3339Nano)}}, &ev); err != nil {
		t.Fatalf("create the event: %v", err)
	}
	s.event, s.startsAt = ev.CreateFlashEvent.ID, startsAt
	return s
}

// addBuyers adds buyers registered..buyers-1 to the database as copies
// of the first (the same password hash), with access tokens signed by the
// instances' JWT secret (the topology's secrets.env).
func (s *sale) addBuyers(t *testing.T, ctx context.Context, top *topology, db *pgx.Conn) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(top.dir, "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	var secret string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "FLASHLIVE_JWT_SECRET="); ok {
			secret = strings.Trim(v, "'")
		}
	}
	tokens, err := auth.NewTokens([]byte(secret), time.Hour, time.Now)
	if err != nil {
		t.Fatalf("the topology's JWT secret: %v", err)
	}
	first := s.buyers[0].id
	const digits = "0123456789abcdefghjkmnpqrstvwxyz" // the IDs' alphabet
	for i := registered; i < buyers; i++ {
		// An ID of the usual shape (usr_ + 26 characters) whose time
		// part is 1970: no ID the server makes can collide with it.
		id := "usr_0000000000" + strings.Repeat("0", 13) + string(digits[i/1024%32]) + string(digits[i/32%32]) + string(digits[i%32])
		if _, err := db.Exec(ctx, `INSERT INTO users (id, email, display_name, role, password_hash)
			SELECT $1, $2, $3, role, password_hash FROM users WHERE id = $4`,
			id, fmt.Sprintf("scaleout-copy-%d-%s@test.flashlive.dev", i, strings.ToLower(first)), fmt.Sprintf("BUYER %d", i), first); err != nil {
			t.Fatalf("add buyer %d: %v", i, err)
		}
		tok, _, err := tokens.Issue(domain.Principal{UserID: id, Role: domain.RoleBuyer})
		if err != nil {
			t.Fatal(err)
		}
		s.buyers[i] = &buyer{c: newClient(top.lbURL, clientAddr(i)), id: id, token: tok}
	}
}

// startBuyers starts one goroutine per buyer: it gets a purchase token
// (once the event is live), then presses for one unit at a time, each
// press with a ticket (grant) and one of the in-flight slots, until
// SOLD_OUT or LIMIT_REACHED. The goroutines end with ctx or when done.
func (s *sale) startBuyers(ctx context.Context) {
	for i, b := range s.buyers {
		go func() {
			s.slots <- struct{}{}
			err := s.purchaseToken(ctx, b)
			<-s.slots
			if err != nil {
				s.fail(fmt.Errorf("buyer %d: purchase token: %w", i, err))
				return
			}
			for k := range perUserLimit {
				select {
				case <-s.tickets:
				case <-ctx.Done():
					return
				}
				s.slots <- struct{}{}
				outcome, err := s.press(ctx, b, fmt.Sprintf("b%d-u%d", i, k))
				<-s.slots
				s.pressed.Add(1)
				if err != nil {
					s.fail(fmt.Errorf("buyer %d, unit %d: %w", i, k, err))
					return
				}
				if outcome != "RESERVED" {
					break
				}
			}
			s.done.Add(1)
		}()
	}
}

// purchaseToken gets b a purchase token, waiting while the event is not live.
func (s *sale) purchaseToken(ctx context.Context, b *buyer) error {
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 0; ; attempt++ {
		var out struct{ FlashPurchaseToken struct{ Token string } }
		err := b.c.must(ctx, b.token, `mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }`, map[string]any{"e": s.event}, &out)
		if err == nil {
			b.ptoken = out.FlashPurchaseToken.Token
			return nil
		}
		// CONFLICT: not live, yet (our clock ahead of the server's) or
		// any more (sold out).
		if !strings.HasPrefix(err.Error(), "CONFLICT") || time.Now().After(deadline) {
			return err
		}
		if time.Now().After(s.startsAt.Add(30 * time.Second)) {
			return errNotLive
		}
		if err := pause(ctx, 100*time.Millisecond+backoff(attempt)); err != nil {
			return err
		}
	}
}

// press buys one unit with key until the answer is final (RESERVED,
// SOLD_OUT, LIMIT_REACHED, or NOT_LIVE when the purchase token ran out
// and the event no longer issues one): a lost answer, a refusal by the balancer or
// an instance (UNAVAILABLE, RATE_LIMITED) is retried with the same key,
// as a client must; a refused purchase token is renewed, the key kept.
func (s *sale) press(ctx context.Context, b *buyer, key string) (string, error) {
	deadline := time.Now().Add(3 * time.Minute)
	renewed := 0
	for attempt := 0; ; attempt++ {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("key %s: no final answer after 3 minutes", key)
		}
		a, err := b.c.do(ctx, b.token, purchaseMutation, map[string]any{"in": map[string]any{
			"eventId": s.event, "token": b.ptoken, "quantity": 1, "idempotencyKey": key}})
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case err != nil, a.Code == "UNAVAILABLE", a.Code == "RATE_LIMITED", a.Code == "INTERNAL":
			_ = pause(ctx, max(a.Retry, backoff(attempt)))
			continue
		case a.Code != "":
			if renewed++; renewed > 3 {
				return "", fmt.Errorf("key %s: %s: %s", key, a.Code, a.Msg)
			}
			if err := s.purchaseToken(ctx, b); errors.Is(err, errNotLive) {
				// Sold out while the token ran out: a final answer too.
				return "NOT_LIVE", nil
			} else if err != nil {
				return "", fmt.Errorf("key %s: renew the purchase token after %s (%s): %w", key, a.Code, a.Msg, err)
			}
			continue
		}
		var out struct {
			PurchaseFlash struct {
				Outcome      string
				RetryAfterMs int
				Order        *struct{ ID string }
			}
		}
		if err := decodeJSON(a.Data, &out); err != nil {
			return "", fmt.Errorf("key %s: %w", key, err)
		}
		switch r := out.PurchaseFlash; r.Outcome {
		case "RESERVED":
			if r.Order == nil {
				return "", fmt.Errorf("key %s: RESERVED without an order", key)
			}
			return r.Outcome, s.keep(b, key, r.Order.ID)
		case "SOLD_OUT", "LIMIT_REACHED":
			return r.Outcome, nil
		case "RATE_LIMITED", "NOT_STARTED":
			_ = pause(ctx, max(time.Duration(r.RetryAfterMs)*time.Millisecond, backoff(attempt)))
		default:
			return "", fmt.Errorf("key %s: outcome %s", key, r.Outcome)
		}
	}
}

// keep records a RESERVED answer: one key names one order, one order one key.
func (s *sale) keep(b *buyer, key, order string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.byKey[key]; ok && prev != order {
		return fmt.Errorf("key %s answered RESERVED with two orders, %s and %s: bought twice", key, prev, order)
	}
	if _, ok := s.byOrder[order]; ok {
		return fmt.Errorf("order %s answered to two presses", order)
	}
	s.byKey[key] = order
	s.byOrder[order] = b.id
	s.reservedUnits.Add(1)
	return nil
}

func (s *sale) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *sale) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// grant lets the buyers make n more presses.
func (s *sale) grant(n int) {
	for range n {
		s.tickets <- struct{}{}
	}
	s.granted += n
}

// waitPressed waits until n presses have their final answer, failing on
// a buyer's failure. With n = granted, no press is in flight after it.
func (s *sale) waitPressed(t *testing.T, n int, what string) {
	t.Helper()
	testenv.WaitForCheck(t, 3*time.Minute, what, func() error {
		if err := s.failure(); err != nil {
			t.Fatal(err)
		}
		if got := s.pressed.Load(); got < int64(n) {
			return fmt.Errorf("%d of %d presses answered, %d units reserved", got, n, s.reservedUnits.Load())
		}
		return nil
	})
}

// check asserts the sale's invariants exactly while no press is in flight
// (every ticket granted is answered): once the order writer has caught up, the
// orders of the event in PostgreSQL are exactly the RESERVED answers (none
// lost, none duplicated, each to its buyer), no buyer holds more than the
// limit, nothing is oversold, and flashEvent.remaining + sold = stock; at
// the end of the sale remaining is 0.
func (s *sale) check(t *testing.T, ctx context.Context, db *pgx.Conn, when string, end bool) {
	t.Helper()
	if err := s.failure(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	answered := make(map[string]string, len(s.byOrder))
	for o, b := range s.byOrder {
		answered[o] = b
	}
	s.mu.Unlock()
	sold := 0
	testenv.WaitForCheck(t, time.Minute, "the orders of every RESERVED answer "+when, func() error {
		rows, err := db.Query(ctx, `SELECT o.id, o.buyer_id, o.status, coalesce(sum(i.quantity), 0)
			FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE o.flash_event_id = $1 GROUP BY o.id`, s.event)
		if err != nil {
			return err
		}
		type order struct {
			buyer, status string
			units         int
		}
		orders := map[string]order{}
		for rows.Next() {
			var id string
			var o order
			if err := rows.Scan(&id, &o.buyer, &o.status, &o.units); err != nil {
				return err
			}
			orders[id] = o
		}
		if err := rows.Err(); err != nil {
			return err
		}
		missing := 0
		for id := range answered {
			if _, ok := orders[id]; !ok {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d RESERVED answers have no order yet", missing, len(answered))
		}
		perBuyer := map[string]int{}
		sold = 0
		for id, o := range orders {
			b, ok := answered[id]
			switch {
			case !ok:
				t.Fatalf("%s: order %s (%s, buyer %s) was never answered RESERVED: a duplicate or a lost answer", when, id, o.status, o.buyer)
			case b != o.buyer:
				t.Fatalf("%s: order %s belongs to %s, was answered to %s", when, id, o.buyer, b)
			case o.units != 1 || o.status == "CANCELLED" || o.status == "EXPIRED":
				t.Fatalf("%s: order %s: %d units, %s; want 1 unit, live", when, id, o.units, o.status)
			}
			perBuyer[o.buyer] += o.units
			sold += o.units
		}
		for b, n := range perBuyer {
			if n > perUserLimit {
				t.Fatalf("%s: buyer %s holds %d units, the limit is %d", when, b, n, perUserLimit)
			}
		}
		return nil
	})
	if sold > stock {
		t.Fatalf("%s: %d units sold of %d: oversold", when, sold, stock)
	}
	var ev struct {
		FlashEvent struct{ Stock, Remaining int }
	}
	if err := s.lb.must(ctx, s.seller, `query($id: ID!) { flashEvent(id: $id) { stock remaining } }`, map[string]any{"id": s.event}, &ev); err != nil {
		t.Fatalf("%s: flashEvent: %v", when, err)
	}
	if got := ev.FlashEvent; got.Stock != stock || got.Remaining+sold != stock {
		t.Fatalf("%s: remaining %d + sold %d = %d, want the stock %d (flashEvent.stock %d)", when, got.Remaining, sold, got.Remaining+sold, stock, got.Stock)
	}
	if end && ev.FlashEvent.Remaining != 0 {
		t.Fatalf("%s: remaining %d, want sold out", when, ev.FlashEvent.Remaining)
	}
	t.Logf("%s: %d RESERVED answers = %d orders, remaining %d + sold %d = stock %d", when, len(answered), len(answered), ev.FlashEvent.Remaining, sold, stock)
}

var errNoData = errors.New("no data in the answer")

// errNotLive is a purchase token refused (CONFLICT) well after the
// event's start: the event is no longer on sale.
var errNotLive = errors.New("the event is no longer live")

func decodeJSON(data []byte, v any) error {
	if len(data) == 0 || string(data) == "null" {
		return errNoData
	}
	return json.Unmarshal(data, v)
}
