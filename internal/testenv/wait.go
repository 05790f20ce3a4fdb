package testenv

import (
	"errors"
	"testing"
	"time"
)

// maxPause is the longest pause between two polls of WaitFor: short
// enough that a test goes on soon after its condition holds, long enough
// that a poll doing a query or a round trip does not flood the service.
const maxPause = 50 * time.Millisecond

// WaitFor polls cond until it reports true, and fails the test with
// "timed out after <timeout> waiting for <what>" if it still does not
// once timeout has passed. cond runs on the caller's goroutine, at once
// and then after pauses of 1ms doubling up to 50ms, the last time at the
// deadline; it may call t.Fatal. This is how tests wait for what happens
// elsewhere (another goroutine, a stream consumer, a job): never with
// time.Sleep.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if poll(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}) != nil {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// WaitForCheck is WaitFor for a check that says what is still wrong: it
// polls check until it returns nil, and fails the test with "timed out
// after <timeout> waiting for <what>: <check's last error>" if it has not
// by the deadline.
func WaitForCheck(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := poll(timeout, check); err != nil {
		t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
	}
}

var errNotYet = errors.New("not yet")

// poll runs check until it returns nil or timeout has passed, and returns
// its last error.
func poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		err := check()
		left := time.Until(deadline)
		if err == nil || left <= 0 {
			return err
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, maxPause)
	}
}
