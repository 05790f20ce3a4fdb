package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
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
	// macs holds keyed HMACs between signatures: a purchase is verified
	// at least once, so keying a new one each time is a cost per press.
	macs sync.Pool
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
	p := &PurchaseTokens{key: m.Sum(nil), ttl: ttl, now: now}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p, nil
}

// sign returns the HMAC of payload, appended to into.
func (p *PurchaseTokens) sign(into []byte, payload string) []byte {
	m := p.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(payload))
	into = m.Sum(into)
	p.macs.Put(m)
	return into
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
	sig := p.sign(nil, buyerID+"\n"+eventID+"\n"+ms)
	return domain.PurchaseToken{
		Token:     "pt1." + ms + "." + base64.RawURLEncoding.EncodeToString(sig),
		ExpiresAt: time.UnixMilli(exp.UnixMilli()),
	}, nil
}

// Verify implements domain.PurchaseTokens. The signature, buyer and event
// are checked before the expiry: only an authentic token is ever
// domain.ErrPurchaseTokenExpired.
func (p *PurchaseTokens) Verify(token, buyerID, eventID string) error {
	bad := func() error {
		return domain.Errorf(domain.EINVALID, "the purchase token is not valid for this event; get a new one with flashPurchaseToken")
	}
	rest, versioned := strings.CutPrefix(token, "pt1.")
	exp, enc, signed := strings.Cut(rest, ".")
	if !versioned || !signed || len(enc) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return bad()
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return bad()
	}
	var sig, want [sha256.Size]byte
	if n, err := base64.RawURLEncoding.Decode(sig[:], []byte(enc)); err != nil || n != len(sig) ||
		!hmac.Equal(sig[:], p.sign(want[:0], buyerID+"\n"+eventID+"\n"+exp)) {
		return bad()
	}
	if !p.now().Before(time.UnixMilli(ms)) {
		return domain.ErrPurchaseTokenExpired
	}
	return nil
}
