package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

// TestPurchaseTokenVerify: a token is good for its buyer and event until
// its expiry; past it, and only if it is authentic (signed by this key for
// this buyer and event), Verify says ErrPurchaseTokenExpired, which the
// sale accepts to ask again a key already answered, never to reserve.
func TestPurchaseTokenVerify(t *testing.T) {
	at, now := tokenClock(tokenT0)
	p, err := NewPurchaseTokens(jwtTestSecret, time.Minute, now)
	if err != nil {
		t.Fatalf("NewPurchaseTokens: %v", err)
	}
	other, err := NewPurchaseTokens(jwtOtherSecret, time.Minute, now)
	if err != nil {
		t.Fatalf("NewPurchaseTokens: %v", err)
	}
	tok, err := p.Issue("usr_1", "evt_1")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if got, want := tok.ExpiresAt, time.UnixMilli(tokenT0.Add(time.Minute).UnixMilli()); !got.Equal(want) {
		t.Fatalf("ExpiresAt = %s, want %s", got, want)
	}
	forged, err := other.Issue("usr_1", "evt_1")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	mangled := tok.Token[:len(tok.Token)-3] + "xyz"
	// The expiry is signed: moving it forward breaks the signature.
	parts := strings.Split(tok.Token, ".")
	later := parts[0] + "." + "9" + parts[1] + "." + parts[2]

	for _, tt := range []struct {
		name           string
		after          time.Duration
		token          string
		buyer, event   string
		wantErr        bool
		wantExpired    bool
		wantMessageHas string
	}{
		{"valid", 0, tok.Token, "usr_1", "evt_1", false, false, ""},
		{"1ms before expiry", time.Minute - time.Millisecond, tok.Token, "usr_1", "evt_1", false, false, ""},
		{"at expiry", time.Minute, tok.Token, "usr_1", "evt_1", true, true, "expired"},
		{"a day later", 24 * time.Hour, tok.Token, "usr_1", "evt_1", true, true, "expired"},
		{"another buyer", 0, tok.Token, "usr_2", "evt_1", true, false, "not valid"},
		{"another buyer, expired", time.Hour, tok.Token, "usr_2", "evt_1", true, false, "not valid"},
		{"another event, expired", time.Hour, tok.Token, "usr_1", "evt_2", true, false, "not valid"},
		{"another key, expired", time.Hour, forged.Token, "usr_1", "evt_1", true, false, "not valid"},
		{"mangled signature, expired", time.Hour, mangled, "usr_1", "evt_1", true, false, "not valid"},
		{"expiry moved forward", time.Hour, later, "usr_1", "evt_1", true, false, "not valid"},
		{"not a token", time.Hour, "pt1.x", "usr_1", "evt_1", true, false, "not valid"},
		{"another version", 0, "pt2" + strings.TrimPrefix(tok.Token, "pt1"), "usr_1", "evt_1", true, false, "not valid"},
		{"a fourth part", 0, tok.Token + ".x", "usr_1", "evt_1", true, false, "not valid"},
		{"a longer signature", 0, tok.Token + "AAAA", "usr_1", "evt_1", true, false, "not valid"},
		{"a shorter signature", 0, tok.Token[:len(tok.Token)-1], "usr_1", "evt_1", true, false, "not valid"},
		{"a huge signature", 0, tok.Token + strings.Repeat("A", 400), "usr_1", "evt_1", true, false, "not valid"},
		{"no expiry", 0, "pt1.." + parts[2], "usr_1", "evt_1", true, false, "not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			*at = tokenT0.Add(tt.after)
			err := p.Verify(tt.token, tt.buyer, tt.event)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, domain.ErrPurchaseTokenExpired); got != tt.wantExpired {
				t.Fatalf("Verify = %v: errors.Is(ErrPurchaseTokenExpired) = %v, want %v", err, got, tt.wantExpired)
			}
			if err == nil {
				return
			}
			if got, want := domain.ErrorCode(err), domain.EINVALID; got != want {
				t.Fatalf("ErrorCode = %q, want %q", got, want)
			}
			if msg := domain.ErrorMessage(err); !strings.Contains(msg, tt.wantMessageHas) || !strings.Contains(msg, "flashPurchaseToken") {
				t.Fatalf("ErrorMessage = %q, want %q and flashPurchaseToken", msg, tt.wantMessageHas)
			}
		})
	}
}

// TestPurchaseTokensConcurrent: tokens issued and verified from many
// goroutines at once (the signing state is shared between calls) are each
// good for their own buyer only.
func TestPurchaseTokensConcurrent(t *testing.T) {
	_, now := tokenClock(tokenT0)
	p, err := NewPurchaseTokens(jwtTestSecret, time.Minute, now)
	if err != nil {
		t.Fatalf("NewPurchaseTokens: %v", err)
	}
	const workers, rounds = 8, 200
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			buyer := fmt.Sprintf("usr_%d", w)
			for i := range rounds {
				tok, err := p.Issue(buyer, fmt.Sprintf("evt_%d", i))
				if err == nil {
					err = p.Verify(tok.Token, buyer, fmt.Sprintf("evt_%d", i))
				}
				if err == nil && p.Verify(tok.Token, buyer+"x", fmt.Sprintf("evt_%d", i)) == nil {
					err = fmt.Errorf("%s's token passed for %sx", buyer, buyer)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
