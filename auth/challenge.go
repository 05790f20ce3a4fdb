package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"flashlive/domain"
)

// DefaultChallengeTTL is how long a queue challenge may be solved in: a
// slow phone's worth of hashing, and not long enough to stockpile.
const DefaultChallengeTTL = 2 * time.Minute

// QueueChallenges issues and checks the waiting room's proof-of-work
// challenges: HMAC-SHA256 over the buyer, the event, a random ID, the
// expiry and the difficulty, keyed (like PurchaseTokens) from the JWT
// secret with a label of its own, so neither can pass for the other.
// Spending a challenge once is the caller's business (its ID).
type QueueChallenges struct {
	key  []byte
	bits int
	ttl  time.Duration
	now  func() time.Time
}

// NewQueueChallenges returns QueueChallenges keyed from secret (at least
// MinSecretLen bytes) asking for bits leading zero bits (0 to
// domain.MaxPowBits). ttl <= 0 means DefaultChallengeTTL; now nil means
// time.Now.
func NewQueueChallenges(secret []byte, bits int, ttl time.Duration, now func() time.Time) (*QueueChallenges, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("queue challenge secret must have at least %d bytes", MinSecretLen)
	}
	if bits < 0 || bits > domain.MaxPowBits {
		return nil, fmt.Errorf("queue challenge difficulty must be 0 to %d bits, not %d", domain.MaxPowBits, bits)
	}
	if ttl <= 0 {
		ttl = DefaultChallengeTTL
	}
	if now == nil {
		now = time.Now
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("flashlive queue challenge v1"))
	return &QueueChallenges{key: m.Sum(nil), bits: bits, ttl: ttl, now: now}, nil
}

// Bits is the difficulty the challenges ask for.
func (q *QueueChallenges) Bits() int { return q.bits }

func (q *QueueChallenges) sign(buyerID, eventID, rest string) []byte {
	m := hmac.New(sha256.New, q.key)
	m.Write([]byte(buyerID + "\n" + eventID + "\n" + rest))
	return m.Sum(nil)
}

// Issue returns a challenge for buyerID and eventID:
// "qc1.<id>.<expiry ms>.<bits>.<signature>".
func (q *QueueChallenges) Issue(buyerID, eventID string) (domain.QueueChallenge, error) {
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return domain.QueueChallenge{}, fmt.Errorf("challenge id: %w", err)
	}
	exp := time.UnixMilli(q.now().Add(q.ttl).UnixMilli())
	rest := base64.RawURLEncoding.EncodeToString(raw[:]) + "." + strconv.FormatInt(exp.UnixMilli(), 10) + "." + strconv.Itoa(q.bits)
	sig := base64.RawURLEncoding.EncodeToString(q.sign(buyerID, eventID, rest))
	return domain.QueueChallenge{Challenge: "qc1." + rest + "." + sig, DifficultyBits: q.bits, ExpiresAt: exp}, nil
}

// Verify checks that challenge was issued for buyerID and eventID, has
// not expired and that nonce solves it at the difficulty it was issued
// with; it returns the challenge's ID (to spend once) and expiry. INVALID
// otherwise, saying which.
func (q *QueueChallenges) Verify(challenge, nonce, buyerID, eventID string) (string, time.Time, error) {
	bad := domain.Errorf(domain.EINVALID, "the challenge is not valid for you and this event; get a new one with queueChallenge")
	parts := strings.Split(challenge, ".")
	if len(challenge) > 200 || len(parts) != 5 || parts[0] != "qc1" {
		return "", time.Time{}, bad
	}
	rest := parts[1] + "." + parts[2] + "." + parts[3]
	sig, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil || !hmac.Equal(sig, q.sign(buyerID, eventID, rest)) {
		return "", time.Time{}, bad
	}
	ms, err1 := strconv.ParseInt(parts[2], 10, 64)
	bits, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil {
		return "", time.Time{}, bad
	}
	exp := time.UnixMilli(ms)
	if !q.now().Before(exp) {
		return "", time.Time{}, domain.Errorf(domain.EINVALID, "the challenge has expired; get a new one with queueChallenge")
	}
	if err := domain.ValidateNonce(nonce); err != nil {
		return "", time.Time{}, err
	}
	if !domain.PowSolved(challenge, nonce, bits) {
		return "", time.Time{}, domain.Errorf(domain.EINVALID, "the nonce does not solve the challenge: SHA-256(challenge + nonce) must begin with %d zero bits", bits)
	}
	return parts[1], exp, nil
}
