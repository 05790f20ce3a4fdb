package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"flashlive/domain"
)

// DefaultPurchaseTokenTTL is the life of a purchase token: long enough to
// press "buy" a few times, short enough that a token is not worth hoarding.
const DefaultPurchaseTokenTTL = time.Minute

// PurchaseTokens implements domain.PurchaseTokens with HMAC-SHA256 over
// the buyer, the event and the expiry. Its key is derived from the JWT
// secret, so that no access token can pass for a purchase token.
type PurchaseTokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

var _ domain.PurchaseTokens = (*PurchaseTokens)(nil)

// NewPurchaseTokens returns PurchaseTokens keyed from secret (at least
// MinSecretLen bytes). ttl <= 0 means DefaultPurchaseTokenTTL; now nil
// means time.Now.
func NewPurchaseTokens(secret []byte, ttl time.Duration, now func() time.Time) (*PurchaseTokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("purchase token secret must have at least %d bytes", MinSecretLen)
	}
	if ttl <= 0 {
		ttl = DefaultPurchaseTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("flashlive purchase token v1"))
	return &PurchaseTokens{key: m.Sum(nil), ttl: ttl, now: now}, nil
}

func (p *PurchaseTokens) sign(payload string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Issue implements domain.PurchaseTokens. The token is
// "<expiry unix ms>.<signature>"; buyer and event are bound by the
// signature, not carried.
func (p *PurchaseTokens) Issue(buyerID, eventID string) (domain.PurchaseToken, error) {
	return p.IssueUntil(buyerID, eventID, p.now().Add(p.ttl))
}

// IssueUntil is Issue with the expiry given: the token of a waiting-room
// admission, valid as long as the admission. The same buyer, event and
// expiry always give the same token, so it need not be stored.
func (p *PurchaseTokens) IssueUntil(buyerID, eventID string, exp time.Time) (domain.PurchaseToken, error) {
	ms := strconv.FormatInt(exp.UnixMilli(), 10)
	sig := p.sign(buyerID + "\n" + eventID + "\n" + ms)
	return domain.PurchaseToken{
		Token:     "pt1." + ms + "." + base64.RawURLEncoding.EncodeToString(sig),
		ExpiresAt: time.UnixMilli(exp.UnixMilli()),
	}, nil
}

// Verify implements domain.PurchaseTokens. The signature, buyer and event
// are checked before the expiry: only an authentic token is ever
// domain.ErrPurchaseTokenExpired.
func (p *PurchaseTokens) Verify(token, buyerID, eventID string) error {
	bad := domain.Errorf(domain.EINVALID, "the purchase token is not valid for this event; get a new one with flashPurchaseToken")
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "pt1" || len(token) > 200 {
		return bad
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return bad
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, p.sign(buyerID+"\n"+eventID+"\n"+parts[1])) {
		return bad
	}
	if !p.now().Before(time.UnixMilli(ms)) {
		return domain.ErrPurchaseTokenExpired
	}
	return nil
}
