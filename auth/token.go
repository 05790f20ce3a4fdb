package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"flashlive/domain"
)

// Token claims that flashlive checks.
const (
	Issuer   = "flashlive"
	Audience = "flashlive-api"
)

// DefaultAccessTTL is the lifetime of an access token.
const DefaultAccessTTL = 15 * time.Minute

// Leeway is how far past its expiry a token is still accepted, for clocks
// that disagree a little.
const Leeway = 5 * time.Second

// MinSecretLen is the shortest HMAC secret Tokens accepts.
const MinSecretLen = 32

// Tokens implements domain.AccessTokens with HS256 JWTs. Verification pins
// the method (a token signed any other way, "none" included, is refused)
// and requires the expiry, issuer and audience.
//
// Verify remembers the tokens it accepted (up to verifiedMax of them), so
// that a client's next request with the same token costs a map lookup and
// the same time checks instead of a signature and a JSON parse: the same
// string always carries the same signed claims.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser

	mu      sync.Mutex
	seen    map[string]verified
	seenMax int // verifiedMax, but for tests
}

// verified is a token Verify accepted: its principal, and when the
// parser's time checks accept it: from iat and nbf less Leeway (included)
// to exp plus Leeway (excluded).
type verified struct {
	p           domain.Principal
	from, until time.Time
}

// verifiedMax bounds the tokens Verify remembers; past it, it starts
// afresh.
const verifiedMax = 1 << 16

var _ domain.AccessTokens = (*Tokens)(nil)

// claims is the payload of an access token.
type claims struct {
	Role domain.Role `json:"role"`
	// Session is the principal's SessionID ("sid", as OpenID Connect
	// names it).
	Session string `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens returns Tokens signing with secret (at least MinSecretLen
// bytes). ttl <= 0 means DefaultAccessTTL; now nil means time.Now.
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("jwt secret must have at least %d bytes", MinSecretLen)
	}
	if ttl <= 0 {
		ttl = DefaultAccessTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		secret:  secret,
		ttl:     ttl,
		now:     now,
		seenMax: verifiedMax,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuer(Issuer),
			jwt.WithAudience(Audience),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
			jwt.WithLeeway(Leeway),
		),
	}, nil
}

// Issue implements domain.AccessTokens. The token carries p's user, role
// and session; p.ExpiresAt is ignored (the token expires after the TTL).
func (t *Tokens) Issue(p domain.Principal) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl).Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Role:    p.Role,
		Session: p.SessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   p.UserID,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	s, err := tok.SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// MaxAge implements domain.AccessTokens: the TTL plus Leeway.
func (t *Tokens) MaxAge() time.Duration { return t.ttl + Leeway }

// Verify implements domain.AccessTokens: the principal has the token's
// user, role, session and expiry (in UTC).
func (t *Tokens) Verify(token string) (domain.Principal, error) {
	now := t.now()
	t.mu.Lock()
	v, ok := t.seen[token]
	t.mu.Unlock()
	if ok && !now.Before(v.from) && now.Before(v.until) {
		return v.p, nil
	}
	p, c, err := t.verify(token)
	if err != nil {
		return p, err
	}
	v = verified{p: p, until: c.ExpiresAt.Time.Add(Leeway)}
	if c.IssuedAt != nil {
		v.from = c.IssuedAt.Time.Add(-Leeway)
	}
	if c.NotBefore != nil && c.NotBefore.Time.Add(-Leeway).After(v.from) {
		v.from = c.NotBefore.Time.Add(-Leeway)
	}
	t.mu.Lock()
	if len(t.seen) >= t.seenMax || t.seen == nil {
		t.seen = make(map[string]verified)
	}
	t.seen[token] = v
	t.mu.Unlock()
	return p, nil
}

// verify checks token's signature and claims.
func (t *Tokens) verify(token string) (domain.Principal, *claims, error) {
	var c claims
	_, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return domain.Principal{}, nil, domain.Errorf(domain.EUNAUTHENTICATED, "the access token has expired; refresh it")
		}
		return domain.Principal{}, nil, domain.Errorf(domain.EUNAUTHENTICATED, "the access token is not valid")
	}
	if c.Subject == "" || !c.Role.Valid() {
		return domain.Principal{}, nil, domain.Errorf(domain.EUNAUTHENTICATED, "the access token is not valid")
	}
	return domain.Principal{UserID: c.Subject, Role: c.Role, SessionID: c.Session, ExpiresAt: c.ExpiresAt.Time.UTC()}, &c, nil
}
