package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserChat: a signed-in buyer sends a chat message from the
// live-room page; it shows in the buyer's panel and in an anonymous
// viewer's, and goes when the seller deletes it.
func TestBrowserChat(t *testing.T) {
	root := browser(t)
	app := startApp(t, func(c *Config) { c.Chat = DefaultChat })
	seller, _, room := app.liveRoom(t)

	buyer := newPage(t, root, 1280, 800)
	email := fmt.Sprintf("chatter-%d@example.com", time.Now().UnixNano())
	do(t, buyer, "open /", chromedp.Navigate(app.URL+"/"))
	do(t, buyer, "fill in the sign-up form",
		chromedp.WaitVisible(chromedp.CSS("#auth-form")),
		chromedp.SendKeys(chromedp.CSS("#auth-email"), email),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "browser-test-password"),
		chromedp.SendKeys(chromedp.CSS("#auth-name"), "Chatty Buyer"))
	do(t, buyer, "press quick sign-up", chromedp.Click(chromedp.CSS("#signup-btn")))
	waitText(t, buyer, 20*time.Second, "#me-name", "signed in", equals("Chatty Buyer"))
	do(t, buyer, "open the room",
		chromedp.WaitVisible(chromedp.CSS(`button[data-room="`+room+`"]`)),
		chromedp.Click(chromedp.CSS(`button[data-room="`+room+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#chat")))

	viewer := newPage(t, root, 390, 844)
	do(t, viewer, "open the room anonymously", chromedp.Navigate(app.URL+"/#room="+room), chromedp.WaitVisible(chromedp.CSS("#chat")))
	waitText(t, viewer, 20*time.Second, "#feed-state", "the live feed", contains("connected"))

	do(t, buyer, "write and send a message",
		chromedp.SendKeys(chromedp.CSS("#chat-text"), "Hello from the browser"),
		chromedp.Click(chromedp.CSS("#chat-send")))
	waitText(t, buyer, 20*time.Second, "#chat-list", "the sender's own message", contains("Chatty Buyer Hello from the browser"))
	waitText(t, viewer, 20*time.Second, "#chat-list", "the message on the viewer's page", contains("Chatty Buyer Hello from the browser"))
	if got := eval[string](t, buyer, `document.querySelector('#chat-text').value`); got != "" {
		t.Fatalf("chat input after sending = %q, want it cleared", got)
	}
	screenshot(t, viewer, "chat-viewer")

	msgs := app.history(t, room, 1)
	if len(msgs) != 1 || msgs[0].Text != "Hello from the browser" {
		t.Fatalf("chatMessages = %+v", msgs)
	}
	seller.must(t, deleteChat, map[string]any{"id": msgs[0].ID}, nil)
	waitText(t, viewer, 20*time.Second, "#chat-list", "the deleted message gone", equals(""))
}
