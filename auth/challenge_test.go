package auth

import (
	"strings"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

func solve(t *testing.T, ch string, bits int) string {
	t.Helper()
	n := testenv.SolvePow(ch, bits)
	if n == "" {
		t.Fatal("no nonce found")
	}
	return n
}

func TestQueueChallenges(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	q, err := NewQueueChallenges([]byte(strings.Repeat("s", MinSecretLen)), 10, time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := q.Issue("usr_a", "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	if c.DifficultyBits != 10 || !c.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("challenge = %+v", c)
	}
	nonce := solve(t, c.Challenge, 10)
	id, _, err := q.Verify(c.Challenge, nonce, "usr_a", "evt_1")
	if err != nil || id == "" {
		t.Fatalf("Verify = %q, %v", id, err)
	}
	wrong := nonce + "x"
	for domain.PowSolved(c.Challenge, wrong, 10) {
		wrong += "x"
	}
	other, _ := NewQueueChallenges([]byte(strings.Repeat("t", MinSecretLen)), 10, time.Minute, clock)
	for name, f := range map[string]func() error{
		"wrong nonce": func() error { _, _, err := q.Verify(c.Challenge, wrong, "usr_a", "evt_1"); return err },
		"other buyer": func() error { _, _, err := q.Verify(c.Challenge, nonce, "usr_b", "evt_1"); return err },
		"other event": func() error { _, _, err := q.Verify(c.Challenge, nonce, "usr_a", "evt_2"); return err },
		"other key":   func() error { _, _, err := other.Verify(c.Challenge, nonce, "usr_a", "evt_1"); return err },
		"tampered bits": func() error {
			_, _, err := q.Verify(strings.Replace(c.Challenge, ".10.", ".0.", 1), "a", "usr_a", "evt_1")
			return err
		},
		"bad nonce": func() error { _, _, err := q.Verify(c.Challenge, "", "usr_a", "evt_1"); return err },
		"garbage":   func() error { _, _, err := q.Verify("qc1.x", nonce, "usr_a", "evt_1"); return err },
		"expired": func() error {
			late, _ := NewQueueChallenges([]byte(strings.Repeat("s", MinSecretLen)), 10, time.Minute, func() time.Time { return now.Add(time.Minute) })
			_, _, err := late.Verify(c.Challenge, nonce, "usr_a", "evt_1")
			return err
		},
	} {
		if err := f(); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	if _, err := NewQueueChallenges([]byte(strings.Repeat("s", MinSecretLen)), 33, 0, nil); err == nil {
		t.Error("33 bits accepted")
	}
}
