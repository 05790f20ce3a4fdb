package nats

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestEmbeddedServerRequiresItsPassword: an embedded server that listens
// with a user and password set refuses network clients without them, or
// with a wrong password, and serves those that have them, as it serves
// its own in-process client (the order stream is declared through it).
func TestEmbeddedServerRequiresItsPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, "", "test", EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", User: "app", Password: "0123456789abcdef"})
	if err != nil {
		t.Fatalf("open nats: %v", err)
	}
	t.Cleanup(c.Close)
	s, err := NewOrderStream(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("order stream over the in-process client: %v", err)
	}
	t.Cleanup(s.Stop)
	url := c.Embedded.ClientURL()
	for name, opts := range map[string][]nats.Option{
		"no credentials": nil,
		"wrong password": {nats.UserInfo("app", "guess")},
	} {
		nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			nc.Close()
			t.Fatalf("%s: connected to the exposed server, want refused", name)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("%s: %v, want an authorization error", name, err)
		}
	}
	// Credentials in the URL, as another instance's FLASHLIVE_NATS_URL has them.
	other, err := Open(ctx, strings.Replace(url, "nats://", "nats://app:0123456789abcdef@", 1), "other", EmbeddedOptions{})
	if err != nil {
		t.Fatalf("connect with the credentials in the URL: %v", err)
	}
	other.Close()
	// Credentials as options (FLASHLIVE_NATS_USER / _PASSWORD with a URL).
	third, err := Open(ctx, url, "third", EmbeddedOptions{User: "app", Password: "0123456789abcdef"})
	if err != nil {
		t.Fatalf("connect with the credentials as options: %v", err)
	}
	third.Close()
}
