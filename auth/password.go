package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"flashlive/domain"
	"flashlive/internal/slots"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams follow OWASP's minimum for argon2id: 19 MiB, two passes,
// one thread.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher implements domain.PasswordHasher with argon2id. At most a fixed
// number of hashes are computed at once, so that a storm of logins queues
// (and, past its deadline, fails UNAVAILABLE) instead of taking every core
// and all memory from the purchase path. No hash waits longer than Wait for
// its turn, whatever its context's deadline: the queue stays short.
type Hasher struct {
	// Wait bounds how long a hash waits for a slot (DefaultHashWait when
	// zero; set before use); past it, UNAVAILABLE with a retry-after.
	Wait time.Duration

	params Params
	slots  chan struct{}
}

// DefaultHashWait is how long a hash waits for a slot by default: many
// hashes' time, a person's patience.
const DefaultHashWait = time.Second

var _ domain.PasswordHasher = (*Hasher)(nil)

// NewHasher returns a Hasher computing at most concurrency hashes at once;
// concurrency <= 0 means GOMAXPROCS.
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrency)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	wait := h.Wait
	if wait <= 0 {
		wait = DefaultHashWait
	}
	if !slots.Acquire(ctx, h.slots, wait) {
		return domain.Retry(domain.EUNAVAILABLE, wait, "too many sign-ins at once; try again in a moment")
	}
	return nil
}

func (h *Hasher) release() { <-h.slots }

// Hash implements domain.PasswordHasher. The encoding is the PHC string
// format: $argon2id$v=19$m=...,t=...,p=...$salt$key.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify implements domain.PasswordHasher. It uses the parameters stored
// in encoded, so that hashes made with older parameters still verify.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func decodeHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("password hash: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("password hash: parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("password hash: salt: %w", err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, fmt.Errorf("password hash: key: %w", err)
	}
	// argon2 panics on degenerate parameters: refuse them here.
	if len(salt) < 8 || len(key) < 16 || p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 {
		return p, nil, nil, fmt.Errorf("password hash: parameters out of range")
	}
	return p, salt, key, nil
}
