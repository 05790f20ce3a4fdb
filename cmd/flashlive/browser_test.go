package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flashlive/internal/testenv"
)

// chromiumPath is Debian's chromium; scripts/ensure-chromium.sh installs it.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless chromium for the test and returns its root
// context; every page opened from it with newPage gets its own
// incognito-like browser context (own cookies and sessionStorage).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is not installed (%v): run `make test` (scripts/test.sh calls scripts/ensure-chromium.sh, which installs Debian's chromium)", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return root
}

// newPage opens a tab in a fresh browser context of the given size.
func newPage(t *testing.T, root context.Context, width, height int64) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action on a context opens its tab, which lives as long as
	// the context it ran with: run it on ctx itself, not on a timeout child.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	return ctx
}

// do runs browser actions and fails the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// text returns the textContent of the first element matching the CSS
// selector, "" if there is none. It does not wait.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e ? e.textContent.trim() : ''; })()`, sel)))
	if err != nil {
		t.Fatalf("browser: read %s: %v", sel, err)
	}
	return s
}

// waitText polls the text of sel until ok holds or within passes.
func waitText(t *testing.T, ctx context.Context, within time.Duration, sel, what string, ok func(string) bool) string {
	t.Helper()
	var s string
	testenv.WaitForCheck(t, within, what+" in the browser", func() error {
		if s = text(t, ctx, sel); !ok(s) {
			return fmt.Errorf("%s is %q", sel, s)
		}
		return nil
	})
	return s
}

// box is where an element lies in the viewport, from getBoundingClientRect.
type box struct {
	Found                         bool
	Top, Bottom, Left, Width      float64
	ViewportWidth, ViewportHeight float64
}

// boxOf returns the box of the first element matching sel.
func boxOf(t *testing.T, ctx context.Context, sel string) box {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[box](fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return {found: false};
		const r = e.getBoundingClientRect();
		return {found: true, top: r.top, bottom: r.bottom, left: r.left, width: r.width,
			viewportWidth: window.innerWidth, viewportHeight: window.innerHeight};
	})()`, sel)))
	if err != nil {
		t.Fatalf("browser: measure %s: %v", sel, err)
	}
	if !b.Found {
		t.Fatalf("browser: no %s on the page", sel)
	}
	return b
}

// onFirstScreen fails unless each element is inside the viewport of an
// unscrolled page (its whole box between the top and the bottom edge).
func onFirstScreen(t *testing.T, ctx context.Context, what string, sels ...string) {
	t.Helper()
	if y, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.scrollY`)); y != 0 {
		t.Fatalf("%s: page scrolled to %v, want 0", what, y)
	}
	for _, sel := range sels {
		if b := boxOf(t, ctx, sel); b.Top < 0 || b.Bottom > b.ViewportHeight || b.Width == 0 {
			t.Fatalf("%s: %s spans %.0f..%.0f px (width %.0f), want it inside the first screen (0..%.0f)", what, sel, b.Top, b.Bottom, b.Width, b.ViewportHeight)
		}
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func equals(want string) func(string) bool {
	return func(s string) bool { return s == want }
}

// screenshot writes a full-page PNG to <repo>/screenshots/name.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	writeScreenshot(t, ctx, name, chromedp.FullScreenshot(100))
}

// firstScreen writes a PNG of what the viewport shows, unscrolled: the
// first screen a visitor sees.
func firstScreen(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	writeScreenshot(t, ctx, name, chromedp.CaptureScreenshot())
}

func writeScreenshot(t *testing.T, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestBrowserLiveRoomAndSellerConsole drives the demo pages in a real
// browser: a buyer signs up, watches the countdown, buys when the deal goes
// LIVE and pays; an anonymous viewer (phone-sized) sees the stock fall to
// sold out; the seller schedules a new deal from the console and the viewer
// sees it appear. Along the way it checks what a shopper relies on: the
// product's picture, the list price struck through beside the flash price,
// the buy button on a phone's first screen, the button disabled with a
// reason at the buyer's limit, one viewer count everywhere, order cards
// with a time and an ID, the seller's sold count and revenue; and it takes
// screenshots of both pages at phone (390×844) and desktop (1280×800) size.
func TestBrowserLiveRoomAndSellerConsole(t *testing.T) {
	started := time.Now()
	root := browser(t)
	app := startApp(t, nil)

	seller, sellerSession := app.register(t, "SELLER")
	// A list price above the flash price, and a picture from the binary.
	var created struct{ CreateProduct product }
	seller.must(t, createProduct, map[string]any{"in": map[string]any{
		"name": "Aurora Wireless Headphones", "priceCents": 12900, "stock": 50, "imageUrl": "/img/earbuds.svg",
	}}, &created)
	p := created.CreateProduct
	roomID := seller.newRoom(t, "Friday Night Tech Drop")
	seller.must(t, startRoom, map[string]any{"id": roomID}, nil)
	// Far enough ahead that sign-up and page loads on a busy machine
	// (argon2 under -race, other tests on the same cores) finish before the
	// start: the checks before it read the page while the deal is SCHEDULED.
	starts := app.Clock.Now().Add(20 * time.Second)
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": roomID, "priceCents": 4999, "stock": 3, "perUserLimit": 1,
		"startsAt": ts(starts), "endsAt": ts(starts.Add(time.Hour)),
	})

	// Context 1: a buyer on a desktop-sized window.
	buyer := newPage(t, root, 1280, 800)
	email := fmt.Sprintf("shopper-%d@example.com", time.Now().UnixNano())
	do(t, buyer, "open /", chromedp.Navigate(app.URL+"/"))
	do(t, buyer, "see the sign-up form", chromedp.WaitVisible(chromedp.CSS("#auth-form")))
	do(t, buyer, "fill in the sign-up form",
		chromedp.SendKeys(chromedp.CSS("#auth-email"), email),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "browser-test-password"),
		chromedp.SendKeys(chromedp.CSS("#auth-name"), "Browser Buyer"))
	do(t, buyer, "press quick sign-up", chromedp.Click(chromedp.CSS("#signup-btn")))
	waitText(t, buyer, 20*time.Second, "#auth-message,#me-name", "signed in", func(s string) bool { return text(t, buyer, "#me-name") != "" })
	if got := text(t, buyer, "#me-name"); got != "Browser Buyer" {
		t.Fatalf("signed in as %q, want Browser Buyer", got)
	}
	do(t, buyer, "open the room",
		chromedp.WaitVisible(chromedp.CSS(`button[data-room="`+roomID+`"]`)),
		chromedp.Click(chromedp.CSS(`button[data-room="`+roomID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#event")),
	)
	waitText(t, buyer, 20*time.Second, "#event-name", "the pinned deal", equals("Aurora Wireless Headphones"))
	waitText(t, buyer, 20*time.Second, "#event-price", "the price", equals("$49.99"))
	first := waitText(t, buyer, 20*time.Second, "#countdown", "a countdown", contains(":"))
	second := waitText(t, buyer, 8*time.Second, "#countdown", "the countdown to tick",
		func(s string) bool { return s != first && strings.Contains(s, ":") })
	t.Logf("countdown ticked %q -> %q", first, second)
	// The button and its reason are set together, in one tick: read both
	// at once, before the deal can start.
	type buyState struct {
		Disabled bool
		Reason   string
	}
	st := eval[buyState](t, buyer, `({disabled: document.querySelector('#buy').disabled, reason: document.querySelector('#buy-reason').textContent})`)
	if !st.Disabled {
		t.Fatalf("buy button enabled before the deal started")
	}
	if !strings.HasPrefix(st.Reason, "Opens at ") {
		t.Fatalf("reason beside the disabled button = %q, want the opening time", st.Reason)
	}
	// The list price, struck through, with the discount.
	waitText(t, buyer, 20*time.Second, "#list-price", "the list price", equals("$129.00"))
	if got := eval[string](t, buyer, `(() => { const e = document.querySelector('#list-price');
		return e.tagName + ' ' + getComputedStyle(e).textDecorationLine + ' ' + (e.checkVisibility() ? 'visible' : 'hidden'); })()`); got != "S line-through visible" {
		t.Fatalf("list price element = %q, want a visible <s> with line-through", got)
	}
	if got, want := text(t, buyer, "#discount"), "−61%"; got != want {
		t.Fatalf("discount = %q, want %q", got, want)
	}
	// The product's picture loads.
	testenv.WaitForCheck(t, 20*time.Second, "the product image to load", func() error {
		if w := eval[float64](t, buyer, `(() => { const i = document.querySelector('#event-image');
			return i && !i.hidden && i.complete ? i.naturalWidth : 0; })()`); w <= 0 {
			return fmt.Errorf("#event-image naturalWidth = %v", w)
		}
		return nil
	})
	if got, want := eval[string](t, buyer, `document.querySelector('#event-image').alt`), "Aurora Wireless Headphones"; got != want {
		t.Fatalf("image alt = %q, want %q", got, want)
	}
	// The favicon is there (no 404 in the console).
	if got := eval[float64](t, buyer, `fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)`); got != 200 {
		t.Fatalf("favicon = %v, want 200", got)
	}
	if got := eval[float64](t, buyer, `fetch('/favicon.ico').then(r => r.status)`); got != 200 {
		t.Fatalf("/favicon.ico = %v, want 200", got)
	}

	// Context 2: an anonymous viewer on a phone-sized screen.
	viewer := newPage(t, root, 390, 844)
	do(t, viewer, "open the room anonymously",
		chromedp.Navigate(app.URL+"/#room="+roomID),
		chromedp.WaitVisible(chromedp.CSS("#event")),
	)
	waitText(t, viewer, 20*time.Second, "#stock-left", "3 units left", equals("3"))
	waitText(t, viewer, 20*time.Second, "#feed-state", "the live feed", contains("connected"))
	// On a phone the deal's countdown, stock bar and buy button are on the
	// first screen (the bar with the price, countdown and button is fixed
	// to its bottom), and sign-in is a tap away at the top.
	onFirstScreen(t, viewer, "phone", "#buy", "#countdown", "#event-price", "#stock-bar", "#event-image", "#signin-link")
	if b := boxOf(t, viewer, "#auth-email"); b.Top > 1.5*b.ViewportHeight {
		t.Fatalf("phone: the sign-in form starts at %.0f px, more than 1.5 screens (%.0f px) down", b.Top, b.ViewportHeight)
	}
	if b := boxOf(t, viewer, "#buy-bar"); b.Bottom != b.ViewportHeight || b.Left != 0 || b.Width != b.ViewportWidth {
		t.Fatalf("phone: the buy bar spans %+v, want it along the bottom edge", b)
	}
	// The stage and the room list show the same audience: the buyer and
	// the phone viewer.
	waitText(t, buyer, 20*time.Second, "#viewers", "two viewers on the stage", equals("2"))
	waitText(t, buyer, 20*time.Second, `[data-viewers-of="`+roomID+`"]`, "two viewers in the room list", equals("2 watching"))
	screenshot(t, buyer, "01-before-start.png")
	screenshot(t, viewer, "01-before-start-mobile.png")
	firstScreen(t, viewer, "01-before-start-mobile-first-screen.png")

	// The deal goes LIVE: the button becomes enabled; buy, then pay.
	do(t, buyer, "wait for the buy button", chromedp.WaitEnabled(chromedp.CSS("#buy")))
	waitText(t, buyer, 8*time.Second, "#event-status", "LIVE", equals("LIVE"))
	do(t, buyer, "buy", chromedp.Click(chromedp.CSS("#buy")))
	waitText(t, buyer, 20*time.Second, "#orders", "the order confirmation",
		func(s string) bool { return strings.Contains(s, "RESERVED") || strings.Contains(s, "AWAITING PAYMENT") })
	waitText(t, buyer, 20*time.Second, "#buy-message", "the reservation message", contains("Reserved"))
	// One unit is this buyer's limit: the button says so, disabled.
	waitText(t, buyer, 20*time.Second, "#buy", "the button at the limit", equals("Limit reached"))
	if dis := eval[bool](t, buyer, `document.querySelector('#buy').disabled`); !dis {
		t.Fatalf("buy button enabled at the buyer's limit")
	}
	if got, want := text(t, buyer, "#buy-reason"), "You hold 1 of the 1 allowed per buyer for this deal."; got != want {
		t.Fatalf("reason at the limit = %q, want %q", got, want)
	}
	// The order card carries a short ID and the time it was placed.
	order := waitText(t, buyer, 20*time.Second, "#orders .order-meta", "the order's ID and time", contains("Order #"))
	if id := text(t, buyer, "#orders .order-id"); len(id) != len("Order #123456") {
		t.Fatalf("order card ID = %q, want Order # and 6 characters", id)
	}
	if got := eval[string](t, buyer, `document.querySelector('#orders .order-meta time').getAttribute('datetime')`); got == "" {
		t.Fatalf("order card %q has no time", order)
	}
	waitText(t, viewer, 20*time.Second, "#stock-left", "the viewer's stock to fall to 2", equals("2"))
	do(t, buyer, "wait for Pay now", chromedp.WaitVisible(chromedp.CSS("button[data-pay]")))
	waitText(t, buyer, 20*time.Second, "#orders", "the pay-now timer", contains("Pay within"))
	screenshot(t, buyer, "02-during-sale.png")
	eval[bool](t, viewer, `(window.scrollTo(0, 0), true)`)
	firstScreen(t, viewer, "02-during-sale-mobile-first-screen.png")
	do(t, buyer, "pay", chromedp.Click(chromedp.CSS("button[data-pay]")))
	waitText(t, buyer, 20*time.Second, "#orders", "PAID", contains("PAID"))

	// The rest sells out to other buyers; both pages follow the feed.
	for i, b := range app.buyers(t, 2) {
		if r := b.buy(t, ev.ID, b.purchaseToken(t, ev.ID), 1, fmt.Sprintf("rest-%d", i)); r.Outcome != "RESERVED" {
			t.Fatalf("buyer %d: outcome %s, want RESERVED", i, r.Outcome)
		}
	}
	waitText(t, viewer, 20*time.Second, "#stock-left", "the viewer's stock to reach 0", equals("0"))
	waitText(t, viewer, 20*time.Second, "#event-status", "SOLD OUT", equals("SOLD OUT"))
	waitText(t, buyer, 20*time.Second, "#buy", "the buy button to say sold out", equals("Sold out"))
	screenshot(t, viewer, "03-sold-out-mobile.png")
	screenshot(t, buyer, "03-sold-out.png")

	// Context 3: the seller console schedules a new deal in the room.
	console := newPage(t, root, 1280, 800)
	do(t, console, "open the seller console",
		chromedp.Navigate(app.URL+"/seller.html"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if b := boxOf(t, console, "#login-panel"); b.Width > 440 {
		t.Fatalf("the seller sign-in form is %.0f px wide at 1280 px, want at most 440", b.Width)
	}
	screenshot(t, console, "00-seller-sign-in.png")
	do(t, console, "seller signs in",
		chromedp.SendKeys(chromedp.CSS("#login-email"), sellerSession.User.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#product-form")),
	)
	waitText(t, console, 20*time.Second, "#seller-events", "the existing deal with its orders", contains("Orders (3)"))
	// Sold count, revenue (the one paid order) and the absolute start.
	deal := `[data-event="` + ev.ID + `"]`
	if got, want := text(t, console, deal+" .ev-sold"), "3"; got != want {
		t.Fatalf("sold = %q, want %q", got, want)
	}
	waitText(t, console, 20*time.Second, deal+" .ev-revenue", "the revenue of the paid order", equals("$49.99"))
	waitText(t, console, 20*time.Second, "#total-revenue", "the total revenue", equals("$49.99"))
	if ids := eval[[]string](t, console, `[...document.querySelectorAll('`+deal+` tbody .order-id')].map(e => e.textContent)`); len(ids) != 3 || ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("short order IDs = %q, want 3 distinct ones", ids)
	}
	if got, want := eval[string](t, console, `document.querySelector('`+deal+` .ev-starts').getAttribute('datetime')`), ev.StartsAt; got != want {
		t.Fatalf("the deal's start time = %q, want %q", got, want)
	}
	if got := text(t, console, deal+" .ev-starts"); !strings.HasPrefix(got, "Starts ") || !strings.Contains(got, ":") {
		t.Fatalf("the deal's start = %q, want an absolute time", got)
	}
	do(t, console, "create a product",
		chromedp.SendKeys(chromedp.CSS("#product-name"), "Neon Desk Lamp"),
		chromedp.Click(chromedp.CSS("#product-create")),
	)
	waitText(t, console, 20*time.Second, "#event-product", "the new product in the form", contains("Neon Desk Lamp"))
	do(t, console, "schedule a deal in 30 s",
		chromedp.SetValue(chromedp.CSS("#event-room"), roomID),
		chromedp.SetValue(chromedp.CSS("#event-price"), "12.50"),
		chromedp.SetValue(chromedp.CSS("#event-stock"), "5"),
		chromedp.SetValue(chromedp.CSS("#event-limit"), "2"),
		chromedp.SetValue(chromedp.CSS("#event-in"), "30"),
		chromedp.Click(chromedp.CSS("#event-create")),
	)
	waitText(t, console, 20*time.Second, "#event-message", "the deal to be scheduled", contains("Scheduled"))
	waitText(t, console, 20*time.Second, "#seller-events", "the new deal in the console", contains("Neon Desk Lamp"))
	waitText(t, viewer, 20*time.Second, "#events", "the new deal in the viewer's room", contains("Neon Desk Lamp"))
	waitText(t, viewer, 20*time.Second, "#event-name", "the new deal pinned", equals("Neon Desk Lamp"))
	waitText(t, viewer, 20*time.Second, "#event-price", "the new price", equals("$12.50"))
	screenshot(t, console, "04-seller-console.png")
	do(t, console, "resize the console to a phone", chromedp.EmulateViewport(390, 844))
	screenshot(t, console, "04-seller-console-mobile.png")
	screenshot(t, viewer, "05-new-deal-mobile.png")
	t.Logf("browser scenario took %s", time.Since(started).Round(time.Millisecond))
}
