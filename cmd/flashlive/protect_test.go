package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
)

// from returns a copy of c whose requests leave from the loopback address
// ip (127.0.0.2, ...), so that the server sees another client address.
func (c *client) from(ip string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}
	cp := *c
	cp.http = &http.Client{Transport: tr}
	return &cp
}

// limitsForTest are limits no test meets by accident: those a test is
// about it sets itself.
func limitsForTest() Limits {
	lot := domain.Limit{Rate: 1000, Burst: 1000, Period: time.Second}
	return Limits{
		PurchaseUser: lot, PurchaseIP: lot, TokenUser: lot, TokenIP: lot,
		LoginIP: lot, LoginEmail: lot, RegisterIP: lot, RefreshIP: lot, WSConnectIP: lot, WSFrames: lot,
	}
}

// purchase sends one purchase attempt and returns its answer, or the
// error code; safe in goroutines (it reports with t.Error).
func (c *client) purchase(t testing.TB, eventID, token, key string) (purchaseAnswer, string) {
	t.Helper()
	r := c.post(t, purchaseMutation, map[string]any{"in": map[string]any{
		"eventId": eventID, "token": token, "quantity": 1, "idempotencyKey": key,
	}})
	if len(r.Errors) > 0 {
		return purchaseAnswer{}, r.code()
	}
	var out struct{ PurchaseFlash purchaseAnswer }
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Errorf("decode %s: %v", r.Data, err)
	}
	return out.PurchaseFlash, ""
}

// botAnswers runs loops concurrent loops of attempts purchases each for
// one buyer, spread over the clients (one per instance), and counts the
// answers by outcome; RATE_LIMITED answers must carry retryAfterMs.
func botAnswers(t *testing.T, clients []*client, eventID, token string, loops, attempts int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for l := range loops {
		c := clients[l%len(clients)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range attempts {
				a, code := c.purchase(t, eventID, token, fmt.Sprintf("bot-%d-%d", l, i))
				outcome := a.Outcome
				if code != "" {
					outcome = "ERROR_" + code
				}
				if outcome == "RATE_LIMITED" && (a.RetryAfterMs == nil || *a.RetryAfterMs <= 0) {
					t.Errorf("RATE_LIMITED without retryAfterMs: %+v", a)
				}
				mu.Lock()
				got[outcome]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

// A bot on one account and one address is held to its budget while 200
// honest buyers on other addresses each get their unit on their first
// press. The stock outlasts them all, so that every honest press must
// reserve and the bot's answers are exact: 1 RESERVED, the rest of the
// burst LIMIT_REACHED, everything past it RATE_LIMITED.
func TestBotIsRateLimitedWhileHonestBuyersBuy(t *testing.T) {
	const honest, loops, attempts, burst = 200, 50, 10, 5
	const stock = honest + 50
	lim := limitsForTest()
	// Burst 5, then one every 12 minutes: the run takes far less than 12
	// minutes, so GCRA lets exactly the burst through.
	lim.PurchaseUser = domain.Limit{Rate: 5, Burst: burst, Period: time.Hour}
	lim.PurchaseIP = domain.Limit{Rate: 20, Burst: 40, Period: time.Second}
	app := startApp(t, func(c *Config) { c.Limits = lim })
	_, eventID := app.liveEvent(t, stock, 1)
	cs := app.buyers(t, honest+1)
	bot := cs[0].from("127.0.0.2")
	botToken := bot.purchaseToken(t, eventID)
	buyers := make([]*client, honest)
	tokens := make([]string, honest)
	for i := range buyers {
		buyers[i] = cs[i+1].from(fmt.Sprintf("127.0.1.%d", i+1))
		tokens[i] = buyers[i].purchaseToken(t, eventID)
	}

	var botGot map[string]int
	first := make([]string, honest)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		botGot = botAnswers(t, []*client{bot}, eventID, botToken, loops, attempts)
	}()
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, code := b.purchase(t, eventID, tokens[i], "first")
			first[i] = a.Outcome
			if code != "" {
				first[i] = "ERROR_" + code
			}
		}()
	}
	wg.Wait()

	for i, o := range first {
		if o != "RESERVED" {
			t.Errorf("honest buyer %d: first press answered %s, want RESERVED", i, o)
		}
	}
	// The per-user limit is 1: of the burst, one press reserves and the
	// rest reach the limit.
	want := map[string]int{"RATE_LIMITED": loops*attempts - burst, "RESERVED": 1, "LIMIT_REACHED": burst - 1}
	if !maps.Equal(botGot, want) {
		t.Errorf("bot answered %v, want %v", botGot, want)
	}
	testenv.WaitFor(t, 15*time.Second, "every order written", func() bool {
		orders, units, _ := app.orderCounts(t, eventID)
		return orders == honest+1 && units == honest+1
	})
}

// The same bot on two instances sharing Redis gets one budget, not two.
func TestBotBudgetIsSharedAcrossInstances(t *testing.T) {
	const loops, attempts, burst = 50, 6, 12
	lim := limitsForTest()
	// Burst 12, then one every 5 minutes: within the run, which takes far
	// less than 5 minutes, exactly the burst passes, whichever instance
	// each attempt reaches.
	lim.PurchaseUser = domain.Limit{Rate: 12, Burst: burst, Period: time.Hour}
	a := startApp(t, func(c *Config) { c.Limits = lim })
	cfgB := a.Config
	cfgB.HTTPAddr = "127.0.0.1:0"
	cfgB.DataDir = t.TempDir()
	b := openApp(t, cfgB)
	_, eventID := a.liveEvent(t, 100, 3)
	botA := a.buyers(t, 1)[0].from("127.0.0.2")
	botB := *botA
	botB.app = b
	token := botA.purchaseToken(t, eventID)
	start := time.Now()
	got := botAnswers(t, []*client{botA, &botB}, eventID, token, loops, attempts)
	if took := time.Since(start); took >= 5*time.Minute {
		t.Fatalf("the run took %s, more than one emission interval: the exact count below does not hold", took)
	}
	passed := got["RESERVED"] + got["LIMIT_REACHED"]
	if passed != burst || got["RATE_LIMITED"] != loops*attempts-burst {
		t.Fatalf("answers %v: want exactly %d past the limit and %d RATE_LIMITED", got, burst, loops*attempts-burst)
	}
	if got, want := got["RESERVED"], 3; got != want {
		t.Fatalf("RESERVED %d, want the per-user limit %d", got, want)
	}
}

// refreshTokens counts the refresh tokens of a user: one per session.
func (a *testApp) refreshTokens(t testing.TB, userID string) int {
	t.Helper()
	var n int
	if err := a.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM refresh_tokens WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoginCannotBeMultipliedOrGuessed(t *testing.T) {
	const free = 5
	lim := limitsForTest()
	lim.LoginEmail = domain.Limit{Rate: 20, Burst: 20, Period: time.Hour}
	lim.LoginFreeFailures = free
	lim.LoginBackoff = time.Minute // long enough that no wait ends within the test
	lim.LoginBackoffMax = time.Hour
	app := startApp(t, func(c *Config) { c.Limits = lim })
	_, s := app.register(t, "BUYER")
	email, right := s.User.Email, "correct horse battery"
	sessions := app.refreshTokens(t, s.User.ID)

	// Ten aliased logins with the right password: refused before any runs.
	var sel []string
	for i := range 10 {
		sel = append(sel, fmt.Sprintf(`l%d: login(input: $in) { accessToken }`, i))
	}
	attacker := app.anon().from("127.0.0.3")
	r := attacker.wantCode(t, "INVALID", `mutation($in: LoginInput!) { `+strings.Join(sel, " ")+` }`,
		map[string]any{"in": map[string]any{"email": email, "password": right}})
	if string(r.Data) != "" && string(r.Data) != "null" {
		t.Fatalf("aliased logins returned data %s", r.Data)
	}
	if got := app.refreshTokens(t, s.User.ID); got != sessions {
		t.Fatalf("aliased logins made %d sessions", got-sessions)
	}
	for _, q := range []string{
		`mutation($in: LoginInput!) { a: login(input: $in) { accessToken } b: refreshToken(refreshToken: "x") { accessToken } }`,
		`mutation { a: register(input: {email: "a@example.com", password: "pppppppppppp", displayName: "A"}) { accessToken } b: register(input: {email: "b@example.com", password: "pppppppppppp", displayName: "B"}) { accessToken } }`,
		`mutation { a: flashPurchaseToken(eventId: "evt_x") { token } b: flashPurchaseToken(eventId: "evt_y") { token } }`,
		`mutation { ...F } fragment F on Mutation { a: purchaseFlash(input: {eventId: "evt_x", token: "t", idempotencyKey: "k1"}) { outcome } b: purchaseFlash(input: {eventId: "evt_x", token: "t", idempotencyKey: "k2"}) { outcome } }`,
	} {
		vars := map[string]any{}
		if strings.Contains(q, "$in") {
			vars["in"] = map[string]any{"email": email, "password": right}
		}
		attacker.wantCode(t, "INVALID", q, vars)
	}
	if got := app.refreshTokens(t, s.User.ID); got != sessions {
		t.Fatalf("refused operations made %d sessions", got-sessions)
	}
	// One of each in one operation is fine.
	var both struct{ Login struct{ AccessToken string } }
	app.anon().from("127.0.0.5").must(t, `mutation($in: LoginInput!) { login(input: $in) { accessToken } }`,
		map[string]any{"in": map[string]any{"email": email, "password": right}}, &both)
	if both.Login.AccessToken == "" {
		t.Fatal("a single login failed")
	}

	// Thirty wrong passwords from one address: the free ones are checked,
	// the rest wait.
	var codes []string
	for i := range 30 {
		r := attacker.post(t, loginMutation, map[string]any{"in": map[string]any{"email": email, "password": fmt.Sprintf("wrong-%d", i)}})
		codes = append(codes, r.code())
		if r.code() == "RATE_LIMITED" {
			ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64)
			if ms <= 0 || ms > float64(time.Hour/time.Millisecond) {
				t.Fatalf("attempt %d: retryAfterMs %v", i+1, r.Errors[0].Extensions["retryAfterMs"])
			}
		}
	}
	want := append(strings.Split(strings.Repeat("UNAUTHENTICATED,", free), ",")[:free],
		strings.Split(strings.Repeat("RATE_LIMITED,", 30-free), ",")[:30-free]...)
	if got, w := strings.Join(codes, " "), strings.Join(want, " "); got != w {
		t.Fatalf("codes\n%s\nwant\n%s", got, w)
	}
	// Even the right password waits on the guessing address...
	attacker.wantCode(t, "RATE_LIMITED", loginMutation, map[string]any{"in": map[string]any{"email": email, "password": right}})
	// ...but the owner, elsewhere, signs in.
	var out struct{ Login struct{ AccessToken string } }
	app.anon().from("127.0.0.4").must(t, loginMutation, map[string]any{"in": map[string]any{"email": email, "password": right}}, &out)
	if out.Login.AccessToken == "" {
		t.Fatal("no access token for the owner")
	}
}

// metric returns the value of one sample of /metrics ("" when absent).
func (a *testApp) metric(t testing.TB, sample string) string {
	t.Helper()
	_, body := a.get(t, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func TestClientThatIgnoresRateLimitsIsBlockedThenReleased(t *testing.T) {
	const strikes = 5
	lim := limitsForTest()
	lim.RefreshIP = domain.Limit{Rate: 1, Burst: 1, Period: time.Hour}
	lim.BlockStrikes, lim.BlockWindow, lim.BlockFor = strikes, time.Minute, 3*time.Second
	app := startApp(t, func(c *Config) { c.Limits = lim })
	pest, other := app.anon().from("127.0.0.6"), app.anon().from("127.0.0.7")
	refresh := `mutation { refreshToken(refreshToken: "not-a-token") { accessToken } }`
	pest.wantCode(t, "UNAUTHENTICATED", refresh, nil) // the one the limit allows
	for i := range strikes {
		r := pest.wantCode(t, "RATE_LIMITED", refresh, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("strike %d: status %d, want 200 (limited, not yet blocked)", i+1, r.Status)
		}
	}
	r := pest.wantCode(t, "RATE_LIMITED", `{ serverTime }`, nil)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("blocked client: status %d, want 429", r.Status)
	}
	ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64)
	if ms <= 0 || ms > 3000 {
		t.Fatalf("blocked client: retryAfterMs %v, want (0, 3000]", r.Errors[0].Extensions["retryAfterMs"])
	}
	other.must(t, `{ serverTime }`, nil, nil) // others are served meanwhile
	if got := app.metric(t, `flashlive_blocklist_blocked_total{kind="IP"}`); got != "1" {
		t.Fatalf("blocked_total = %q, want 1", got)
	}
	if got := app.metric(t, `flashlive_rate_limited_total{limit="refresh-ip"}`); got != "5" {
		t.Fatalf("rate_limited_total{refresh-ip} = %q, want 5", got)
	}
	testenv.WaitFor(t, 15*time.Second, "the block to end", func() bool {
		return pest.post(t, `{ serverTime }`, nil).Status == http.StatusOK
	})
	testenv.WaitFor(t, 5*time.Second, "the release to be counted", func() bool {
		pest.post(t, `{ serverTime }`, nil)
		return app.metric(t, `flashlive_blocklist_released_total{how="expired",kind="IP"}`) == "1"
	})
}

// admin returns a client signed in as a new ADMIN (made in the database:
// nobody registers as ADMIN).
func (a *testApp) admin(t testing.TB) *client {
	t.Helper()
	id := fmt.Sprintf("usr_admin%d", time.Now().UnixNano())
	if _, err := a.DB.Pool.Exec(context.Background(), `
		INSERT INTO users (id, email, display_name, role, password_hash) VALUES ($1, $1 || '@example.com', 'Admin', 'ADMIN', 'x')`, id); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(a.Config.JWTSecret, time.Hour, a.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.Issue(domain.Principal{UserID: id, Role: domain.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return &client{app: a, token: tok}
}

func TestAdminBlocksAndUnblocks(t *testing.T) {
	app := startApp(t, func(c *Config) { c.Limits = limitsForTest() })
	admin := app.admin(t)
	buyer := app.buyers(t, 1)[0]
	buyerID := buyerIDOf(t, buyer)
	target := buyer.from("127.0.0.8")
	const list = `{ blockedClients { kind value until } }`
	buyer.wantCode(t, "FORBIDDEN", list, nil)
	buyer.wantCode(t, "FORBIDDEN", `mutation { blockClient(kind: IP, value: "127.0.0.8", seconds: 60) { value } }`, nil)
	app.anon().wantCode(t, "UNAUTHENTICATED", `mutation { unblockClient(kind: IP, value: "127.0.0.8") }`, nil)
	for _, q := range []string{
		`mutation { blockClient(kind: IP, value: "not-an-ip", seconds: 60) { value } }`,
		`mutation { blockClient(kind: IP, value: "127.0.0.8", seconds: 0) { value } }`,
		`mutation { blockClient(kind: ACCOUNT, value: "bob", seconds: 60) { value } }`,
	} {
		admin.wantCode(t, "INVALID", q, nil)
	}

	var blocked struct {
		BlockClient struct{ Kind, Value, Until string }
	}
	admin.must(t, `mutation { blockClient(kind: IP, value: "127.0.0.8", seconds: 60) { kind value until } }`, nil, &blocked)
	if blocked.BlockClient.Kind != "IP" || blocked.BlockClient.Value != "127.0.0.8" {
		t.Fatalf("blockClient = %+v", blocked.BlockClient)
	}
	if r := target.post(t, `{ serverTime }`, nil); r.Status != http.StatusTooManyRequests || r.code() != "RATE_LIMITED" {
		t.Fatalf("blocked address: status %d code %s, want 429 RATE_LIMITED", r.Status, r.code())
	}
	var accountBlock struct{ BlockClient struct{ Value string } }
	admin.must(t, fmt.Sprintf(`mutation { blockClient(kind: ACCOUNT, value: %q, seconds: 60) { value } }`, buyerID), nil, &accountBlock)
	if r := buyer.from("127.0.0.9").post(t, `{ serverTime }`, nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("blocked account from another address: status %d, want 429", r.Status)
	}
	var got struct {
		BlockedClients []struct{ Kind, Value string }
	}
	admin.must(t, list, nil, &got)
	if g, w := fmt.Sprint(got.BlockedClients), fmt.Sprintf("[{ACCOUNT %s} {IP 127.0.0.8}]", buyerID); g != w && g != fmt.Sprintf("[{IP 127.0.0.8} {ACCOUNT %s}]", buyerID) {
		t.Fatalf("blockedClients = %s, want %s", g, w)
	}

	var un struct{ UnblockClient bool }
	admin.must(t, `mutation { unblockClient(kind: IP, value: "127.0.0.8") }`, nil, &un)
	if !un.UnblockClient {
		t.Fatal("unblockClient = false for a blocked address")
	}
	admin.must(t, `mutation { unblockClient(kind: IP, value: "127.0.0.8") }`, nil, &un)
	if un.UnblockClient {
		t.Fatal("unblockClient = true for an address no longer blocked")
	}
	admin.must(t, fmt.Sprintf(`mutation { unblockClient(kind: ACCOUNT, value: %q) }`, buyerID), nil, &un)
	target.must(t, `{ serverTime }`, nil, nil)
	if got := app.metric(t, `flashlive_blocklist_released_total{how="admin",kind="IP"}`); got != "1" {
		t.Fatalf("released_total{admin,IP} = %q, want 1", got)
	}
}

// buyerID returns the user ID of a signed-in client.
func buyerIDOf(t testing.TB, c *client) string {
	t.Helper()
	var out struct{ Me struct{ ID string } }
	c.must(t, `{ me { id } }`, nil, &out)
	return out.Me.ID
}

func TestLiveFeedLimits(t *testing.T) {
	lim := limitsForTest()
	lim.WSFrames = domain.Limit{Rate: 1, Burst: 5, Period: time.Hour}
	lim.WSConnectIP = domain.Limit{Rate: 1, Burst: 2, Period: time.Hour}
	lim.SubscriptionsPerSocket = 2
	app := startApp(t, func(c *Config) { c.Limits = lim })
	seller, _ := app.register(t, "SELLER")
	room := seller.newRoom(t, "Limits")

	w := app.dial(t, "", nil)
	for range 5 {
		w.send(t, map[string]any{"type": "ping"})
		w.next(t, 5*time.Second, "pong", frameIs("pong"))
	}
	w.send(t, map[string]any{"type": "join", "room": "liv_x"})
	f := w.next(t, 5*time.Second, "a RATE_LIMITED error", frameIs("error", "code", "RATE_LIMITED"))
	if ms, _ := f["retryAfterMs"].(float64); ms <= 0 {
		t.Fatalf("error frame %v has no retryAfterMs", f)
	}
	for range 60 {
		if err := w.conn.WriteJSON(map[string]any{"type": "join", "room": "liv_x"}); err != nil {
			break // closed under us: fine
		}
	}
	limited := 0
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case f, ok := <-w.Frames:
			if !ok {
				open = false
			} else if f["type"] == "error" && f["code"] == "RATE_LIMITED" {
				limited++
			}
		case <-deadline:
			t.Fatal("a flooding viewer was not closed")
		}
	}
	if limited == 0 {
		t.Fatal("no RATE_LIMITED error frames before the close")
	}
	if got := app.metric(t, "flashlive_live_floods_closed_total"); got != "1" {
		t.Fatalf("floods_closed_total = %q, want 1", got)
	}

	// Two upgrades per address were allowed (one above, one here); the
	// third is refused.
	app.dial(t, "", nil)
	_, res, err := websocket.DefaultDialer.Dial("ws://"+app.Addr()+"/ws", nil)
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("third upgrade: %v, status %d; want 429", err, status)
	}

	// Two subscriptions per socket; the third is refused with INVALID.
	g := app.subscribeClient(t, "")
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	var m map[string]any
	for i := range 3 {
		id := fmt.Sprint(i)
		if err := g.conn.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{
			"query": `subscription($id: ID!) { liveRoom(id: $id) { __typename } }`, "variables": map[string]any{"id": room},
		}}); err != nil {
			t.Fatal(err)
		}
		// Each one answers before the next is asked for, so that the
		// third is the one over the cap.
		m = g.next(t, "subscription "+id+" answered", func(m map[string]any) bool { return m["id"] == id })
		if i < 2 && m["type"] != "next" {
			t.Fatalf("subscription %s: %v", id, m)
		}
	}
	if !strings.Contains(fmt.Sprint(m), "INVALID") || !strings.Contains(fmt.Sprint(m), "2 subscriptions") {
		t.Fatalf("third subscription: %v", m)
	}
}

func TestTokenAndSignUpLimits(t *testing.T) {
	lim := limitsForTest()
	lim.TokenUser = domain.Limit{Rate: 1, Burst: 1, Period: time.Hour}
	lim.RegisterIP = domain.Limit{Rate: 1, Burst: 2, Period: time.Hour}
	app := startApp(t, func(c *Config) { c.Limits = lim })
	_, eventID := app.liveEvent(t, 10, 1) // the seller's sign-up is the first of 127.0.0.1
	buyer := app.buyers(t, 1)[0]
	buyer.purchaseToken(t, eventID)
	r := buyer.wantCode(t, "RATE_LIMITED", tokenMutation, map[string]any{"e": eventID})
	if ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64); ms <= 0 || ms > float64(time.Hour/time.Millisecond) {
		t.Fatalf("flashPurchaseToken refused with retryAfterMs %v", r.Errors[0].Extensions["retryAfterMs"])
	}
	if got := app.metric(t, `flashlive_rate_limited_total{limit="token-user"}`); got != "1" {
		t.Fatalf("rate_limited_total{token-user} = %q, want 1", got)
	}
	signUp := func(c *client, n int) gqlResponse {
		return c.post(t, `mutation($in: RegisterInput!) { register(input: $in) { accessToken } }`, map[string]any{"in": map[string]any{
			"email": fmt.Sprintf("signup%d-%d@example.com", n, time.Now().UnixNano()), "password": "correct horse battery", "displayName": "S",
		}})
	}
	if r := signUp(app.anon(), 1); r.code() != "" {
		t.Fatalf("second sign-up of the address: %+v", r.Errors)
	}
	if r := signUp(app.anon(), 2); r.code() != "RATE_LIMITED" {
		t.Fatalf("third sign-up of the address: code %q, want RATE_LIMITED", r.code())
	}
	if r := signUp(app.anon().from("127.0.0.10"), 3); r.code() != "" {
		t.Fatalf("sign-up from another address: %+v", r.Errors)
	}
}
