package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"flashlive/internal/testenv"
)

// TestBrowserRedPacketRain drives the rain in a real browser: the seller
// makes it rain from the console; a buyer watching the room sees the
// countdown and the packets fall, taps one and sees the amount won; the
// seller's console shows the rain drain by that packet.
func TestBrowserRedPacketRain(t *testing.T) {
	root := browser(t)
	app := startApp(t, nil)
	seller, sellerSession := app.register(t, "SELLER")
	roomID := seller.newRoom(t, "Rainy Night Live")
	seller.must(t, startRoom, map[string]any{"id": roomID}, nil)

	buyer := newPage(t, root, 1280, 800)
	email := fmt.Sprintf("rain-%d@example.com", time.Now().UnixNano())
	do(t, buyer, "open /", chromedp.Navigate(app.URL+"/"))
	do(t, buyer, "sign up",
		chromedp.WaitVisible(chromedp.CSS("#auth-form")),
		chromedp.SendKeys(chromedp.CSS("#auth-email"), email),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "browser-test-password"),
		chromedp.SendKeys(chromedp.CSS("#auth-name"), "Rain Catcher"),
		chromedp.Click(chromedp.CSS("#signup-btn")))
	waitText(t, buyer, 20*time.Second, "#me-name", "signed in", equals("Rain Catcher"))
	do(t, buyer, "open the room",
		chromedp.WaitVisible(chromedp.CSS(`button[data-room="`+roomID+`"]`)),
		chromedp.Click(chromedp.CSS(`button[data-room="`+roomID+`"]`)))
	waitText(t, buyer, 20*time.Second, "#feed-state", "the live feed", contains("connected"))

	console := newPage(t, root, 1280, 800)
	do(t, console, "seller signs in",
		chromedp.Navigate(app.URL+"/seller.html"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), sellerSession.User.Email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#rain-form")))
	waitText(t, console, 20*time.Second, "#rain-room", "the room to choose", contains("Rainy Night Live"))
	do(t, console, "make it rain: $5 in 3 packets, starting in 3 seconds, for a minute",
		chromedp.SetValue(chromedp.CSS("#rain-total"), "5.00"),
		chromedp.SetValue(chromedp.CSS("#rain-packets"), "3"),
		chromedp.SetValue(chromedp.CSS("#rain-in"), "3"),
		chromedp.SetValue(chromedp.CSS("#rain-for"), "60"),
		chromedp.Click(chromedp.CSS("#rain-create")))
	waitText(t, console, 20*time.Second, "#rain-message", "the rain created", equals("Rain created."))
	waitText(t, console, 20*time.Second, "#rain-list", "the new rain", contains("3 left"))

	waitText(t, buyer, 20*time.Second, "#rain-countdown", "the countdown", contains("starts in"))
	waitText(t, buyer, 20*time.Second, "#rain-status", "the rain to start", equals("Raining now"))
	waitText(t, buyer, 20*time.Second, "#rain-countdown", "the packets left", contains("3 packets"))
	do(t, buyer, "see a packet fall", chromedp.WaitVisible(chromedp.CSS("#rain-sky .packet")))
	// A falling packet moves: tap it where it is, as a finger would.
	if ok := eval[bool](t, buyer, `(() => { const p = document.querySelector('#rain-sky .packet'); if (!p) return false; p.click(); return true; })()`); !ok {
		t.Fatal("no packet to tap")
	}
	won := waitText(t, buyer, 20*time.Second, "#rain-won", "the amount won", contains("You won $"))
	t.Logf("buyer: %q", won)
	waitText(t, console, 20*time.Second, "#rain-list", "the rain to drain by one", contains("2 left"))
	var grabs int
	var cents int64
	testenv.WaitFor(t, 20*time.Second, "the grab in PostgreSQL", func() bool {
		if err := app.DB.Pool.QueryRow(t.Context(), `SELECT count(*), coalesce(sum(amount_cents), 0) FROM red_packet_grabs g
			JOIN red_packet_rains r ON r.id = g.rain_id WHERE r.room_id = $1`, roomID).Scan(&grabs, &cents); err != nil {
			t.Fatal(err)
		}
		return grabs == 1
	})
	if want := fmt.Sprintf("$%d.%02d", cents/100, cents%100); !strings.Contains(won, want) {
		t.Fatalf("the page says %q, PostgreSQL %s", won, want)
	}
}
