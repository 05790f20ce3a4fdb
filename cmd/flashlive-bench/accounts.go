package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// benchPassword is the password of every account the bench makes.
const benchPassword = "flashlive-bench-password"

// account is one signed-in user of the sale.
type account struct {
	Index  int
	Email  string
	UserID string
	Token  string
	ep     *endpoint // where this user's requests go from

	ptoken string // purchase token for the current event
}

// savedSession is what the state file keeps of an account between runs.
type savedSession struct {
	UserID    string    `json:"userId"`
	Token     string    `json:"accessToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// serverState is what the bench keeps about one server between runs: a
// salt that makes its e-mails its own, and the sessions it holds.
type serverState struct {
	Salt     string                  `json:"salt"`
	Sessions map[string]savedSession `json:"sessions"`
}

// stateFile is the bench's memory between runs, by server URL, so that a
// second run signs its buyers in (or reuses their tokens) instead of
// signing up new ones.
type stateFile struct {
	path    string
	mu      sync.Mutex
	Servers map[string]*serverState `json:"servers"`
}

// loadState reads the state file at path; a missing file is an empty one.
func loadState(path string) (*stateFile, error) {
	s := &stateFile{path: path, Servers: map[string]*serverState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("state file %s: %w (delete it to start afresh)", path, err)
	}
	if s.Servers == nil {
		s.Servers = map[string]*serverState{}
	}
	return s, nil
}

// server returns the state of the server at base, making it if new.
func (s *stateFile) server(base string) *serverState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.Servers[base]
	if st == nil {
		var b [4]byte
		_, _ = rand.Read(b[:])
		st = &serverState{Salt: hex.EncodeToString(b[:])}
		s.Servers[base] = st
	}
	if st.Sessions == nil {
		st.Sessions = map[string]savedSession{}
	}
	return st
}

// remember keeps a session for the next run.
func (s *stateFile) remember(base, email string, ss savedSession) {
	st := s.server(base)
	s.mu.Lock()
	st.Sessions[email] = ss
	s.mu.Unlock()
}

// recall returns a saved session still valid for a while.
func (s *stateFile) recall(base, email string) (savedSession, bool) {
	st := s.server(base)
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := st.Sessions[email]
	return ss, ok && time.Until(ss.ExpiresAt) > 10*time.Minute
}

// save writes the state file.
func (s *stateFile) save() error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s, "", " ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

const sessionFields = `accessToken expiresAt user { id }`

type sessionData struct {
	AccessToken string    `json:"accessToken"`
	ExpiresAt   time.Time `json:"expiresAt"`
	User        struct {
		ID string `json:"id"`
	} `json:"user"`
}

// signIn returns a signed-in account for email: a saved token that the
// server still takes, else a login, else a sign-up (as role). It waits
// out the server's sign-up and login limits when they ask for little.
func signIn(ctx context.Context, st *stateFile, ep *endpoint, index int, email, role string) (*account, error) {
	acc := &account{Index: index, Email: email, ep: ep}
	if ss, ok := st.recall(ep.base, email); ok {
		var me struct {
			Me *struct{ ID string } `json:"me"`
		}
		if err := ep.must(ctx, ss.Token, `{ me { id } }`, nil, &me); err == nil && me.Me != nil && me.Me.ID == ss.UserID {
			acc.UserID, acc.Token = ss.UserID, ss.Token
			return acc, nil
		}
	}
	var out struct {
		Login    sessionData `json:"login"`
		Register sessionData `json:"register"`
	}
	login := `mutation($in: LoginInput!) { login(input: $in) { ` + sessionFields + ` } }`
	a, err := retryLimited(ctx, func() (gqlAnswer, error) {
		return ep.do(ctx, "", login, map[string]any{"in": map[string]any{"email": email, "password": benchPassword}})
	})
	if err != nil {
		return nil, fmt.Errorf("log in %s: %w", email, err)
	}
	if a.code() == "UNAUTHENTICATED" || a.code() == "NOT_FOUND" {
		register := `mutation($in: RegisterInput!) { register(input: $in) { ` + sessionFields + ` } }`
		a, err = retryLimited(ctx, func() (gqlAnswer, error) {
			return ep.do(ctx, "", register, map[string]any{"in": map[string]any{
				"email": email, "password": benchPassword, "displayName": fmt.Sprintf("Bench %s %d", role, index), "role": role,
			}})
		})
		if err != nil {
			return nil, fmt.Errorf("sign up %s: %w", email, err)
		}
	}
	if err := a.err(); err != nil {
		return nil, fmt.Errorf("sign in %s: %w", email, err)
	}
	if err := json.Unmarshal(a.Data, &out); err != nil {
		return nil, err
	}
	s := out.Login
	if s.AccessToken == "" {
		s = out.Register
	}
	acc.UserID, acc.Token = s.User.ID, s.AccessToken
	st.remember(ep.base, email, savedSession{UserID: acc.UserID, Token: acc.Token, ExpiresAt: s.ExpiresAt})
	return acc, nil
}

// maxSetupWait is the longest RATE_LIMITED wait the set-up phases sit out;
// past it they fail with the server's answer.
const maxSetupWait = 15 * time.Second

// retryLimited repeats f while the server answers RATE_LIMITED with a
// short enough wait, or UNAVAILABLE.
func retryLimited(ctx context.Context, f func() (gqlAnswer, error)) (gqlAnswer, error) {
	for attempt := 0; ; attempt++ {
		a, err := f()
		if err != nil && attempt < 5 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return a, err
			}
			continue
		}
		if err != nil {
			return a, err
		}
		switch a.code() {
		case "RATE_LIMITED", "UNAVAILABLE":
			wait := a.retryAfter()
			if wait > maxSetupWait || attempt > 20 {
				return a, fmt.Errorf("%w (the server asks to wait %s: give the bench more -ips, or the server higher limits)", a.err(), wait)
			}
			if err := sleep(ctx, jitter(max(wait, 50*time.Millisecond))); err != nil {
				return a, err
			}
			continue
		}
		return a, nil
	}
}

// signInAll signs in n accounts named by name(i), from addresses chosen
// by ep(i), a few at a time (sign-ups hash passwords: they are the
// server's most expensive requests).
func signInAll(ctx context.Context, st *stateFile, n int, role string, name func(int) string, ep func(int) *endpoint, done func(time.Time, error)) ([]*account, error) {
	accs := make([]*account, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				accs[i], errs[i] = signIn(ctx, st, ep(i), i, name(i), role)
				if done != nil {
					done(t0, errs[i])
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if failed, first := countFailed(errs); first != nil {
		return nil, fmt.Errorf("%d of %d %s accounts not signed in; first: %w", failed, n, role, first)
	}
	return accs, ctx.Err()
}

// countFailed returns how many of errs are not nil, and the first that is
// not.
func countFailed(errs []error) (failed int, first error) {
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	return failed, first
}
