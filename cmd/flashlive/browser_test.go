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

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func equals(want string) func(string) bool {
	return func(s string) bool { return s == want }
}

// screenshot writes a full-page PNG to <repo>/screenshots/name.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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
// sees it appear.
func TestBrowserLiveRoomAndSellerConsole(t *testing.T) {
	started := time.Now()
	root := browser(t)
	app := startApp(t, nil)

	seller, sellerSession := app.register(t, "SELLER")
	p := seller.newProduct(t, "Aurora Wireless Headphones", 50)
	roomID := seller.newRoom(t, "Friday Night Tech Drop")
	seller.must(t, startRoom, map[string]any{"id": roomID}, nil)
	// Far enough ahead that sign-up and page loads on a busy machine
	// (argon2 under -race) finish before the start.
	starts := app.Clock.Now().Add(12 * time.Second)
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": roomID, "priceCents": 4999, "stock": 3, "perUserLimit": 1,
		"startsAt": ts(starts), "endsAt": ts(starts.Add(time.Hour)),
	})

	// Context 1: a buyer on a desktop-sized window.
	buyer := newPage(t, root, 1280, 900)
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
	if dis, _ := chromedp.Run(buyer, chromedp.Evaluate[bool](`document.querySelector('#buy').disabled`)); !dis {
		t.Fatalf("buy button enabled before the deal started")
	}

	// Context 2: an anonymous viewer on a phone-sized screen.
	viewer := newPage(t, root, 390, 844)
	do(t, viewer, "open the room anonymously",
		chromedp.Navigate(app.URL+"/#room="+roomID),
		chromedp.WaitVisible(chromedp.CSS("#event")),
	)
	waitText(t, viewer, 20*time.Second, "#stock-left", "3 units left", equals("3"))
	waitText(t, viewer, 20*time.Second, "#feed-state", "the live feed", contains("connected"))
	screenshot(t, buyer, "01-before-start.png")
	screenshot(t, viewer, "01-before-start-mobile.png")

	// The deal goes LIVE: the button becomes enabled; buy, then pay.
	do(t, buyer, "wait for the buy button", chromedp.WaitEnabled(chromedp.CSS("#buy")))
	waitText(t, buyer, 8*time.Second, "#event-status", "LIVE", equals("LIVE"))
	do(t, buyer, "buy", chromedp.Click(chromedp.CSS("#buy")))
	waitText(t, buyer, 20*time.Second, "#orders", "the order confirmation",
		func(s string) bool { return strings.Contains(s, "RESERVED") || strings.Contains(s, "AWAITING PAYMENT") })
	waitText(t, buyer, 20*time.Second, "#buy-message", "the reservation message", contains("Reserved"))
	waitText(t, viewer, 20*time.Second, "#stock-left", "the viewer's stock to fall to 2", equals("2"))
	do(t, buyer, "wait for Pay now", chromedp.WaitVisible(chromedp.CSS("button[data-pay]")))
	waitText(t, buyer, 20*time.Second, "#orders", "the pay-now timer", contains("Pay within"))
	screenshot(t, buyer, "02-during-sale.png")
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
	console := newPage(t, root, 1280, 900)
	do(t, console, "seller signs in",
		chromedp.Navigate(app.URL+"/seller.html"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), sellerSession.User.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#product-form")),
	)
	waitText(t, console, 20*time.Second, "#seller-events", "the existing deal with its orders", contains("Orders (3)"))
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
	screenshot(t, viewer, "05-new-deal-mobile.png")
	t.Logf("browser scenario took %s", time.Since(started).Round(time.Millisecond))
}
