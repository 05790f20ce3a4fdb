package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

// cheapHashParams keep tests fast; DefaultParams get one test of their own.
var cheapHashParams = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHasherRoundTrip(t *testing.T) {
	h := NewHasher(cheapHashParams, 2)
	ctx := context.Background()
	for _, password := range []string{
		"correct horse battery staple",
		"12345678",
		"pässwörd 🔑 with spaces",
		strings.Repeat("x", 128),
		"",
	} {
		t.Run(password, func(t *testing.T) {
			encoded, err := h.Hash(ctx, password)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if got, want := encoded, "$argon2id$v=19$m=1024,t=1,p=1$"; !strings.HasPrefix(got, want) {
				t.Fatalf("Hash = %q, want prefix %q", got, want)
			}
			if strings.Contains(encoded, password) && password != "" {
				t.Fatalf("Hash = %q contains the password", encoded)
			}
			ok, err := h.Verify(ctx, password, encoded)
			if err != nil {
				t.Fatalf("Verify(right password): %v", err)
			}
			if !ok {
				t.Fatal("Verify(right password) = false, want true")
			}
			for _, wrong := range []string{password + "x", strings.ToUpper(password) + "!", " " + password} {
				ok, err := h.Verify(ctx, wrong, encoded)
				if err != nil {
					t.Fatalf("Verify(%q): %v", wrong, err)
				}
				if ok {
					t.Fatalf("Verify(%q) = true against the hash of %q", wrong, password)
				}
			}
		})
	}
}

func TestHasherDefaultParams(t *testing.T) {
	h := NewHasher(DefaultParams, 0)
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	parts := strings.Split(encoded, "$")
	if got, want := len(parts), 6; got != want {
		t.Fatalf("Hash = %q has %d $-separated parts, want %d", encoded, got, want)
	}
	if got, want := strings.Join(parts[:4], "$"), "$argon2id$v=19$m=19456,t=2,p=1"; got != want {
		t.Fatalf("Hash header = %q, want %q", got, want)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		t.Fatalf("salt: %v", err)
	}
	if got, want := len(salt), int(DefaultParams.SaltLen); got != want {
		t.Fatalf("salt has %d bytes, want %d", got, want)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	if got, want := len(key), int(DefaultParams.KeyLen); got != want {
		t.Fatalf("key has %d bytes, want %d", got, want)
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
	} {
		ok, err := h.Verify(ctx, tt.password, encoded)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tt.password, err)
		}
		if ok != tt.want {
			t.Fatalf("Verify(%q) = %v, want %v", tt.password, ok, tt.want)
		}
	}
}

func TestHasherSaltsEveryHash(t *testing.T) {
	h := NewHasher(cheapHashParams, 1)
	ctx := context.Background()
	seen := map[string]bool{}
	for range 4 {
		encoded, err := h.Hash(ctx, "same password")
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		if seen[encoded] {
			t.Fatalf("Hash returned %q twice for the same password", encoded)
		}
		seen[encoded] = true
		salt := strings.Split(encoded, "$")[4]
		for other := range seen {
			if other != encoded && strings.Split(other, "$")[4] == salt {
				t.Fatalf("two hashes share the salt %q", salt)
			}
		}
		if ok, err := h.Verify(ctx, "same password", encoded); err != nil || !ok {
			t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
		}
	}
}

// Hashes keep their parameters, so that raising the cost does not lock out
// existing accounts.
func TestHasherVerifiesOlderParams(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(Params{Memory: 512, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}, 1)
	encoded, err := old.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	current := NewHasher(Params{Memory: 2048, Time: 2, Threads: 2, KeyLen: 32, SaltLen: 16}, 1)
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"correct horse", true},
		{"correct horsE", false},
	} {
		ok, err := current.Verify(ctx, tt.password, encoded)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tt.password, err)
		}
		if ok != tt.want {
			t.Fatalf("Verify(%q) = %v, want %v", tt.password, ok, tt.want)
		}
	}
}

func TestHasherVerifyMalformedHash(t *testing.T) {
	h := NewHasher(cheapHashParams, 1)
	ctx := context.Background()
	good, err := h.Hash(ctx, "password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for _, tt := range []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "password"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"too few parts", strings.Join(parts[:5], "$")},
		{"too many parts", good + "$extra"},
		{"unsupported version", with(2, "v=16")},
		{"version not a number", with(2, "v=x")},
		{"version missing", with(2, "")},
		{"parameters not numbers", with(3, "m=a,t=b,p=c")},
		{"parameters missing", with(3, "")},
		{"threads overflow a byte", with(3, "m=1024,t=1,p=256")},
		{"salt not base64", with(4, "!!!!")},
		{"key not base64", with(5, "!!!!")},
		{"key padded base64", with(5, parts[5]+"==")},
		// argon2 panics on these; Verify must refuse them with an error.
		{"zero passes", with(3, "m=1024,t=0,p=1")},
		{"zero threads", with(3, "m=1024,t=1,p=0")},
		{"empty key", with(5, "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				ok  bool
				err error
			)
			if r := hasherPanic(func() { ok, err = h.Verify(ctx, "password", tt.encoded) }); r != nil {
				t.Fatalf("Verify(%q) panicked: %v", tt.encoded, r)
			}
			if err == nil {
				t.Fatalf("Verify(%q) = %v, nil; want an error", tt.encoded, ok)
			}
			if ok {
				t.Fatalf("Verify(%q) = true with error %v", tt.encoded, err)
			}
		})
	}
	// A refused hash holds no slot: with concurrency 1, hashing still works.
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := h.Hash(tctx, "password"); err != nil {
		t.Fatalf("Hash after malformed Verify calls: %v", err)
	}
}

// hasherPanic runs f and returns what it panicked with, or nil.
func hasherPanic(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

func TestHasherBoundedConcurrency(t *testing.T) {
	h := NewHasher(cheapHashParams, 1)
	encoded, err := h.Hash(context.Background(), "password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}

	// Hold the only slot, as a hash in progress would.
	if err := h.acquire(context.Background()); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := h.Hash(expired, "password"); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Hash with the slot held and ctx expired: err = %v, want code %s", err, domain.EUNAVAILABLE)
	}
	ok, err := h.Verify(expired, "password", encoded)
	if got, want := domain.ErrorCode(err), domain.EUNAVAILABLE; got != want {
		t.Fatalf("Verify with the slot held and ctx expired: code = %q (%v), want %q", got, err, want)
	}
	if ok {
		t.Fatal("Verify = true while refusing with UNAVAILABLE")
	}
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if _, err := h.Hash(short, "password"); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Hash with the slot held until ctx ends: err = %v, want code %s", err, domain.EUNAVAILABLE)
	}

	// A waiting hash proceeds once the slot frees.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ok, err := h.Verify(ctx, "password", encoded)
		if err == nil && !ok {
			err = domain.Errorf(domain.EINTERNAL, "Verify = false for the right password")
		}
		done <- err
	}()
	h.release()
	if err := <-done; err != nil {
		t.Fatalf("Verify after the slot freed: %v", err)
	}
	if got := len(h.slots); got != 0 {
		t.Fatalf("%d slots held after every hash returned, want 0", got)
	}
}

// A hash waits at most Wait for a slot, even when its context has no
// deadline, and then asks the client to come back after Wait.
func TestHasherWaitIsBounded(t *testing.T) {
	h := NewHasher(cheapHashParams, 1)
	h.Wait = 10 * time.Millisecond
	if err := h.acquire(context.Background()); err != nil { // the only slot, held
		t.Fatalf("acquire: %v", err)
	}
	defer h.release()
	_, err := h.Hash(context.Background(), "password")
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EUNAVAILABLE {
		t.Fatalf("Hash with the slot held: err = %v, want code %s", err, domain.EUNAVAILABLE)
	}
	if got, want := de.RetryAfter, h.Wait; got != want {
		t.Fatalf("RetryAfter = %v, want %v", got, want)
	}
	if got, want := len(h.slots), 1; got != want {
		t.Fatalf("%d slots held after the refusal, want %d (the test's)", got, want)
	}
}

// Many concurrent hashes queue for the slots, all succeed, and give every
// slot back.
func TestHasherManyConcurrentHashes(t *testing.T) {
	const limit, callers = 2, 16
	h := NewHasher(cheapHashParams, limit)
	if got, want := cap(h.slots), limit; got != want {
		t.Fatalf("cap(slots) = %d, want %d", got, want)
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			password := strings.Repeat("p", 8+i)
			encoded, err := h.Hash(ctx, password)
			if err != nil {
				errs <- err
				return
			}
			ok, err := h.Verify(ctx, password, encoded)
			if err == nil && !ok {
				err = domain.Errorf(domain.EINTERNAL, "Verify = false for %q", password)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(h.slots); got != 0 {
		t.Fatalf("%d slots held after every hash returned, want 0", got)
	}
}

func TestNewHasherDefaultConcurrency(t *testing.T) {
	for _, n := range []int{0, -1} {
		if got, want := cap(NewHasher(cheapHashParams, n).slots), runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("NewHasher(_, %d): %d slots, want GOMAXPROCS = %d", n, got, want)
		}
	}
	if got, want := cap(NewHasher(cheapHashParams, 3).slots), 3; got != want {
		t.Fatalf("NewHasher(_, 3): %d slots, want %d", got, want)
	}
}
