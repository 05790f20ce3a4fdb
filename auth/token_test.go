package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"flashlive/domain"
)

var (
	jwtTestSecret  = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	jwtOtherSecret = []byte("fedcba9876543210fedcba9876543210")
	// tokenT0 is not on a whole second, to show that expiries are truncated.
	tokenT0 = time.Date(2025, 6, 1, 12, 0, 0, 500_000_000, time.UTC)
)

// tokenClock returns a clock reading *at and the pointer that moves it.
func tokenClock(at time.Time) (*time.Time, func() time.Time) {
	p := &at
	return p, func() time.Time { return *p }
}

func newTestJWTs(t *testing.T, now func() time.Time) *Tokens {
	t.Helper()
	tok, err := NewTokens(jwtTestSecret, 0, now)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tok
}

// validJWTClaims are the claims Issue writes for usr_1, a BUYER, at tokenT0.
func validJWTClaims() claims {
	return claims{
		Role: domain.RoleBuyer,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   "usr_1",
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(tokenT0),
			ExpiresAt: jwt.NewNumericDate(tokenT0.Add(DefaultAccessTTL)),
		},
	}
}

func signJWT(t *testing.T, method jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func TestNewTokensSecretLength(t *testing.T) {
	for _, tt := range []struct {
		n       int
		wantErr bool
	}{
		{0, true},
		{1, true},
		{MinSecretLen - 1, true},
		{MinSecretLen, false},
		{64, false},
	} {
		tok, err := NewTokens([]byte(strings.Repeat("s", tt.n)), 0, nil)
		if got := err != nil; got != tt.wantErr {
			t.Fatalf("NewTokens(%d-byte secret) error = %v, want error: %v", tt.n, err, tt.wantErr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "32 bytes") {
				t.Fatalf("NewTokens(%d-byte secret) error = %q, want it to state 32 bytes", tt.n, err)
			}
			if tok != nil {
				t.Fatalf("NewTokens(%d-byte secret) returned Tokens with an error", tt.n)
			}
		}
	}
}

func TestTokensRoundTrip(t *testing.T) {
	_, now := tokenClock(tokenT0)
	tok := newTestJWTs(t, now)
	for _, p := range []domain.Principal{
		{UserID: "usr_01J0Q3S5ZK8X4WQ2M7N6B9C1DE", Role: domain.RoleBuyer, SessionID: "fam_1"},
		{UserID: "usr_seller", Role: domain.RoleSeller, SessionID: "fam_2"},
		{UserID: "usr_admin", Role: domain.RoleAdmin}, // a token may name no session

	} {
		t.Run(string(p.Role), func(t *testing.T) {
			s, exp, err := tok.Issue(p)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if want := time.Date(2025, 6, 1, 12, 15, 0, 0, time.UTC); !exp.Equal(want) {
				t.Fatalf("Issue expiresAt = %s, want %s (t0 + 15m, truncated to the second)", exp, want)
			}
			got, err := tok.Verify(s)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// The principal comes back with the token's expiry.
			want := p
			want.ExpiresAt = exp
			if got != want {
				t.Fatalf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

func TestTokensTTL(t *testing.T) {
	clock, now := tokenClock(tokenT0)
	tok, err := NewTokens(jwtTestSecret, time.Minute, now)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	p := domain.Principal{UserID: "usr_1", Role: domain.RoleSeller}
	s, exp, err := tok.Issue(p)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := tokenT0.Add(time.Minute).Truncate(time.Second); !exp.Equal(want) {
		t.Fatalf("expiresAt = %s, want %s", exp, want)
	}
	*clock = tokenT0.Add(2 * time.Minute)
	if _, err := tok.Verify(s); domain.ErrorCode(err) != domain.EUNAUTHENTICATED {
		t.Fatalf("Verify after a 1m TTL passed: err = %v, want UNAUTHENTICATED", err)
	}
}

func TestTokensExpiry(t *testing.T) {
	clock, now := tokenClock(tokenT0)
	tok := newTestJWTs(t, now)
	p := domain.Principal{UserID: "usr_1", Role: domain.RoleBuyer}
	s, exp, err := tok.Issue(p)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	p.ExpiresAt = exp
	for _, tt := range []struct {
		name  string
		at    time.Time
		words []string // nil: valid
	}{
		{"at issue", tokenT0, nil},
		{"14 minutes later", tokenT0.Add(14 * time.Minute), nil},
		{"16 minutes later", tokenT0.Add(16 * time.Minute), []string{"expired"}},
		{"a day later", tokenT0.Add(24 * time.Hour), []string{"expired"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			*clock = tt.at
			got, err := tok.Verify(s)
			if tt.words == nil {
				if err != nil || got != p {
					t.Fatalf("Verify = %+v, %v; want %+v, nil", got, err, p)
				}
				return
			}
			if got, want := domain.ErrorCode(err), domain.EUNAUTHENTICATED; got != want {
				t.Fatalf("Verify code = %q (%v), want %q", got, err, want)
			}
			for _, w := range tt.words {
				if msg := domain.ErrorMessage(err); !strings.Contains(msg, w) {
					t.Fatalf("Verify message = %q, want it to contain %q", msg, w)
				}
			}
			if got != (domain.Principal{}) {
				t.Fatalf("Verify returned principal %+v with an error", got)
			}
		})
	}
}

// flipJWT replaces the character in the middle of segment i of a JWT with
// another base64url character.
func flipJWT(token string, i int) string {
	seg := strings.Split(token, ".")
	b := []byte(seg[i])
	m := len(b) / 2
	if b[m] == 'A' {
		b[m] = 'B'
	} else {
		b[m] = 'A'
	}
	seg[i] = string(b)
	return strings.Join(seg, ".")
}

// withJWTPayload returns token with its payload replaced by c, signature kept.
func withJWTPayload(t *testing.T, token string, c claims) string {
	t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.Split(token, ".")
	seg[1] = base64.RawURLEncoding.EncodeToString(body)
	return strings.Join(seg, ".")
}

func TestTokensRefused(t *testing.T) {
	_, now := tokenClock(tokenT0.Add(time.Minute))
	tok := newTestJWTs(t, now)
	good := signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, validJWTClaims())
	if p, err := tok.Verify(good); err != nil || p != (domain.Principal{UserID: "usr_1", Role: domain.RoleBuyer, ExpiresAt: tokenT0.Add(DefaultAccessTTL).Truncate(time.Second)}) {
		t.Fatalf("baseline token refused: %+v, %v", p, err)
	}
	edit := func(f func(c *claims)) claims {
		c := validJWTClaims()
		f(&c)
		return c
	}
	admin := edit(func(c *claims) { c.Role = domain.RoleAdmin })

	for _, tt := range []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"three empty segments", ".."},
		{"header only", strings.Split(good, ".")[0]},
		{"signature stripped", strings.Join(strings.Split(good, ".")[:2], ".") + "."},
		{"tampered header", flipJWT(good, 0)},
		{"tampered payload", flipJWT(good, 1)},
		{"tampered signature", flipJWT(good, 2)},
		{"role raised to ADMIN, signature kept", withJWTPayload(t, good, admin)},
		{"subject changed, signature kept", withJWTPayload(t, good, edit(func(c *claims) { c.Subject = "usr_2" }))},
		{"signed with another secret", signJWT(t, jwt.SigningMethodHS256, jwtOtherSecret, validJWTClaims())},
		{"signed with an empty secret", signJWT(t, jwt.SigningMethodHS256, []byte{}, validJWTClaims())},
		{"alg none", signJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, admin)},
		{"HS384 with the same secret", signJWT(t, jwt.SigningMethodHS384, jwtTestSecret, validJWTClaims())},
		{"HS512 with the same secret", signJWT(t, jwt.SigningMethodHS512, jwtTestSecret, validJWTClaims())},
		{"wrong issuer", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Issuer = "someone-else" }))},
		{"missing issuer", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Issuer = "" }))},
		{"wrong audience", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Audience = jwt.ClaimStrings{"other-api"} }))},
		{"missing audience", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Audience = nil }))},
		{"missing exp", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.ExpiresAt = nil }))},
		{"issued in the future", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.IssuedAt = jwt.NewNumericDate(tokenT0.Add(time.Hour)) }))},
		{"not valid before a later time", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.NotBefore = jwt.NewNumericDate(tokenT0.Add(time.Hour)) }))},
		{"empty subject", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Subject = "" }))},
		{"unknown role", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Role = "ROOT" }))},
		{"lower-case role", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Role = "admin" }))},
		{"missing role", signJWT(t, jwt.SigningMethodHS256, jwtTestSecret, edit(func(c *claims) { c.Role = "" }))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tok.Verify(tt.token)
			if got, want := domain.ErrorCode(err), domain.EUNAUTHENTICATED; got != want {
				t.Fatalf("Verify(%q) code = %q (%v), want %q", tt.token, got, err, want)
			}
			if msg, want := domain.ErrorMessage(err), "not valid"; !strings.Contains(msg, want) {
				t.Fatalf("Verify message = %q, want it to contain %q", msg, want)
			}
			if got != (domain.Principal{}) {
				t.Fatalf("Verify returned principal %+v with an error", got)
			}
		})
	}
}

// A token from one deployment is not accepted by another.
func TestTokensFromAnotherSecret(t *testing.T) {
	_, now := tokenClock(tokenT0)
	mine := newTestJWTs(t, now)
	theirs, err := NewTokens(jwtOtherSecret, 0, now)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	s, _, err := theirs.Issue(domain.Principal{UserID: "usr_1", Role: domain.RoleAdmin})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if _, err := mine.Verify(s); domain.ErrorCode(err) != domain.EUNAUTHENTICATED {
		t.Fatalf("Verify of another secret's token: err = %v, want UNAUTHENTICATED", err)
	}
}

// TestTokensRememberedKeepTheTimeChecks: a token Verify accepted once is
// remembered, and from then on it is accepted at exactly the times a
// fresh parse accepts it (the clock moved either way, to the edges of the
// leeway), with the same principal and the same error code.
func TestTokensRememberedKeepTheTimeChecks(t *testing.T) {
	clock, now := tokenClock(tokenT0)
	remembering := newTestJWTs(t, now)
	s, exp, err := remembering.Issue(domain.Principal{UserID: "usr_1", Role: domain.RoleBuyer, SessionID: "fam_1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remembering.Verify(s); err != nil {
		t.Fatalf("Verify at issue: %v", err)
	}
	iat := tokenT0.Truncate(time.Second)
	for _, at := range []time.Time{
		iat.Add(-Leeway - time.Nanosecond), iat.Add(-Leeway), tokenT0,
		exp, exp.Add(Leeway - time.Nanosecond), exp.Add(Leeway), exp.Add(time.Hour),
		tokenT0.Add(time.Minute), iat.Add(-time.Hour),
	} {
		*clock = at
		fresh := newTestJWTs(t, now) // remembers nothing yet
		wantP, wantErr := fresh.Verify(s)
		gotP, gotErr := remembering.Verify(s)
		if gotP != wantP || domain.ErrorCode(gotErr) != domain.ErrorCode(wantErr) {
			t.Errorf("at %s: remembered Verify = %+v, %v; a fresh parse says %+v, %v", at.Sub(tokenT0), gotP, gotErr, wantP, wantErr)
		}
	}
	// The edges are where they should be, so the loop compared both sides.
	*clock = exp.Add(Leeway)
	if _, err := remembering.Verify(s); err == nil {
		t.Fatal("accepted at exp + Leeway")
	}
	*clock = iat.Add(-Leeway - time.Nanosecond)
	if _, err := remembering.Verify(s); err == nil {
		t.Fatal("accepted before iat - Leeway")
	}
}

// TestTokensRememberedStayBounded: past the bound (verifiedMax; 100
// here), Verify starts afresh, and every token is still accepted.
func TestTokensRememberedStayBounded(t *testing.T) {
	_, now := tokenClock(tokenT0)
	tok := newTestJWTs(t, now)
	tok.seenMax = 100
	var first string
	for i := range tok.seenMax + 10 {
		s, _, err := tok.Issue(domain.Principal{UserID: fmt.Sprintf("usr_%d", i), Role: domain.RoleBuyer})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s
		}
		if _, err := tok.Verify(s); err != nil {
			t.Fatalf("Verify %d: %v", i, err)
		}
	}
	tok.mu.Lock()
	n := len(tok.seen)
	tok.mu.Unlock()
	if n > tok.seenMax {
		t.Fatalf("remembers %d tokens, more than the bound (%d)", n, tok.seenMax)
	}
	if p, err := tok.Verify(first); err != nil || p.UserID != "usr_0" {
		t.Fatalf("the first token, forgotten, verifies as %+v, %v", p, err)
	}
}
