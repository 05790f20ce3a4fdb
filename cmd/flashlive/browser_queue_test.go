package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flashlive/internal/testenv"
)

// openSignedIn opens url in page signed in as s: the session goes into
// sessionStorage, where the page's own sign-in keeps it.
func openSignedIn(t *testing.T, page context.Context, url string, s session) {
	t.Helper()
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	do(t, page, "open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
	do(t, page, "sign in", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem('flashlive.session', %q)`, js)))
	do(t, page, "reload signed in", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
}

// TestBrowserWaitingRoom drives the waiting room in a real browser: the
// seller console creates a waiting-room deal and shows its queue length
// live; a buyer joins before the start (the proof of work solved in a Web
// Worker at the default difficulty), waits, is admitted, and buys; others
// left waiting when it sells out are told the queue closed. It also
// measures the proof of work's solve time in headless Chromium.
func TestBrowserWaitingRoom(t *testing.T) {
	root := browser(t)
	app := startApp(t, func(c *Config) {
		c.Queue = QueueConfig{AdmitPerSecond: 1, AdmissionTTL: time.Minute, PowBits: DefaultQueuePowBits}
	})
	seller, sellerSession := app.register(t, "SELLER")
	p := seller.newProduct(t, "Queued Sneakers", 10)
	roomID := seller.newRoom(t, "Sneaker Drop")
	seller.must(t, startRoom, map[string]any{"id": roomID}, nil)
	_, buyerSession := app.register(t, "BUYER")

	// The seller console creates the deal, with a waiting room, starting in
	// 15 seconds.
	console := newPage(t, root, 1280, 900)
	openSignedIn(t, console, app.URL+"/seller.html", sellerSession)
	do(t, console, "fill in the deal form",
		chromedp.WaitVisible(chromedp.CSS("#event-form")),
		chromedp.SetValue(chromedp.CSS("#event-stock"), "1"),
		chromedp.SetValue(chromedp.CSS("#event-in"), "15"),
		chromedp.Click(chromedp.CSS("#event-waiting")),
	)
	testenv.WaitForCheck(t, 20*time.Second, "the product and room in the form", func() error {
		if eval[string](t, console, `document.querySelector('#event-product').value`) != p.ID ||
			eval[string](t, console, `document.querySelector('#event-room').value`) != roomID {
			return fmt.Errorf("form not filled yet")
		}
		return nil
	})
	do(t, console, "schedule the deal", chromedp.Click(chromedp.CSS("#event-create")))
	waitText(t, console, 20*time.Second, "#event-message", "the deal scheduled", contains("Scheduled"))
	var evs struct {
		LiveRoom struct {
			FlashEvents []struct {
				ID          string
				WaitingRoom bool
			}
		}
	}
	seller.must(t, `query($id: ID!) { liveRoom(id: $id) { flashEvents { id waitingRoom } } }`, map[string]any{"id": roomID}, &evs)
	if len(evs.LiveRoom.FlashEvents) != 1 || !evs.LiveRoom.FlashEvents[0].WaitingRoom {
		t.Fatalf("the console's deal: %+v, want one waiting-room event", evs.LiveRoom.FlashEvents)
	}
	eventID := evs.LiveRoom.FlashEvents[0].ID

	// The buyer joins before the start.
	buyer := newPage(t, root, 1280, 800)
	openSignedIn(t, buyer, app.URL+"/#room="+roomID, buyerSession)
	do(t, buyer, "see the queue panel", chromedp.WaitVisible(chromedp.CSS("#queue-join")))
	waitText(t, buyer, 10*time.Second, "#buy", "buy closed before the start", equals("Not started yet"))
	do(t, buyer, "join the queue", chromedp.Click(chromedp.CSS("#queue-join")))
	waitText(t, buyer, 30*time.Second, "#queue-status", "waiting in the queue", contains("You are in the queue"))
	powMs := eval[string](t, buyer, `document.querySelector('#queue').dataset.powMs`)
	t.Logf("proof of work at %d bits solved in the page's worker in %s ms", DefaultQueuePowBits, powMs)
	// Two more buyers join through the API: the console shows 3 waiting.
	others := app.buyers(t, 2)
	for _, c := range others {
		c.join(t, eventID)
	}
	waitText(t, console, 10*time.Second, ".ev-queue-length", "the queue length on the console", equals("3"))

	// After the start a second browser buyer joins: first in, first out,
	// behind everyone drawn at the start.
	late := newPage(t, root, 390, 844)
	_, lateSession := app.register(t, "BUYER")
	openSignedIn(t, late, app.URL+"/#room="+roomID, lateSession)
	waitText(t, late, 30*time.Second, "#event-status", "the deal LIVE", equals("LIVE"))
	do(t, late, "join the queue late", chromedp.WaitVisible(chromedp.CSS("#queue-join")), chromedp.Click(chromedp.CSS("#queue-join")))
	waitText(t, late, 30*time.Second, "#queue-status", "a place in the queue", contains("Your place in the queue"))
	waitText(t, console, 10*time.Second, ".ev-queue-length", "4 waiting on the console", func(s string) bool { return s == "4" || s == "3" })

	// One a second is admitted while no admission is outstanding (stock
	// 1): the API buyers drawn before the browser buyer give up their turn
	// when it comes, so the browser buyer's comes, shown live, then buys.
	testenv.WaitForCheck(t, 60*time.Second, "the browser buyer admitted", func() error {
		if s := text(t, buyer, "#queue-status"); strings.Contains(s, "You are in!") {
			return nil
		}
		for _, c := range others {
			if tk := c.myTicket(t, eventID); tk != nil && tk.Status == "ADMITTED" {
				c.must(t, `mutation($e: ID!) { leaveQueue(eventId: $e) }`, map[string]any{"e": eventID}, nil)
			}
		}
		return fmt.Errorf("#queue-status is %q", text(t, buyer, "#queue-status"))
	})
	waitText(t, buyer, 10*time.Second, "#buy", "the buy button", contains("Buy now"))
	do(t, buyer, "press buy", chromedp.Click(chromedp.CSS("#buy")))
	waitText(t, buyer, 20*time.Second, "#buy-message", "reserved", contains("Reserved!"))
	// Sold out: the late buyer, still waiting, is told the queue closed.
	waitText(t, late, 20*time.Second, "#queue-status", "the queue closed", contains("The queue has closed"))
	waitText(t, console, 10*time.Second, ".ev-queue-length", "the queue emptied on the console", equals("0"))
	screenshot(t, buyer, "waiting-room.png")
}

// TestBrowserProofOfWorkTime measures the waiting room's proof of work in
// headless Chromium: the page's worker solves 12 challenges at the
// default difficulty; the figures (median solve time, hash rate, and the
// expected time at the default, 2^bits hashes at that rate) go to the log.
func TestBrowserProofOfWorkTime(t *testing.T) {
	root := browser(t)
	app := startApp(t, nil)
	page := newPage(t, root, 800, 600)
	do(t, page, "open /", chromedp.Navigate(app.URL+"/"), chromedp.WaitReady(chromedp.CSS("body")))
	type run struct {
		Ms     float64
		Hashes float64
	}
	runs := eval[[]run](t, page, fmt.Sprintf(`(async () => {
		const out = [];
		for (let i = 0; i < 12; i++) {
			out.push(await new Promise(res => {
				const w = new Worker('pow-worker.js');
				w.onmessage = ev => { if (ev.data.nonce !== undefined) { w.terminate(); res({ms: ev.data.ms, hashes: ev.data.hashes}); } };
				w.postMessage({challenge: 'qc1.measure-' + i + '-' + Math.random(), bits: %d});
			}));
		}
		return out;
	})()`, DefaultQueuePowBits))
	var ms []float64
	var totalMs, totalHashes float64
	for _, r := range runs {
		ms = append(ms, r.Ms)
		totalMs += r.Ms
		totalHashes += r.Hashes
	}
	if len(ms) != 12 || totalHashes == 0 {
		t.Fatalf("runs: %+v", runs)
	}
	sort.Float64s(ms)
	rate := totalHashes / totalMs * 1000
	expected := float64(int(1)<<DefaultQueuePowBits) / rate * 1000
	b, _ := json.Marshal(ms)
	t.Logf("proof of work at %d bits in headless Chromium: median %.0f ms over %d solves %s; %.0f hashes/s; expected %.0f ms (2^%d hashes)",
		DefaultQueuePowBits, ms[len(ms)/2], len(ms), b, rate, expected, DefaultQueuePowBits)
}
