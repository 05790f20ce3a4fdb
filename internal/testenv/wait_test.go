package testenv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPollStopsOnceTheCheckPasses(t *testing.T) {
	n := 0
	err := poll(10*time.Second, func() error {
		if n++; n < 5 {
			return fmt.Errorf("try %d", n)
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("poll = %v after %d checks, want nil after 5", err, n)
	}
}

func TestPollReturnsTheLastErrorAtTheDeadline(t *testing.T) {
	n := 0
	start := time.Now()
	err := poll(50*time.Millisecond, func() error { n++; return fmt.Errorf("try %d", n) })
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("poll gave up after %s, before its deadline", took)
	}
	if want := fmt.Sprintf("try %d", n); err == nil || err.Error() != want || n < 2 {
		t.Fatalf("poll = %v after %d checks, want %q and more than one check", err, n, want)
	}
}

func TestWaitForPassesAConditionThatHolds(t *testing.T) {
	calls := 0
	WaitFor(t, time.Second, "the third call", func() bool { calls++; return calls == 3 })
	WaitForCheck(t, time.Second, "no error", func() error { return nil })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
	if !errors.Is(poll(0, func() error { return errNotYet }), errNotYet) {
		t.Fatal("a zero timeout still checks once")
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper()                        {}
func (r *fatalRecorder) Fatalf(format string, a ...any) { r.msg = fmt.Sprintf(format, a...) }

func TestWaitForSaysWhatItWaitedFor(t *testing.T) {
	r := &fatalRecorder{TB: t}
	WaitFor(r, 10*time.Millisecond, "a miracle", func() bool { return false })
	if got, want := r.msg, "timed out after 10ms waiting for a miracle"; got != want {
		t.Fatalf("WaitFor failed with %q, want %q", got, want)
	}
	r = &fatalRecorder{TB: t}
	WaitForCheck(r, 10*time.Millisecond, "a miracle", func() error { return errors.New("none yet") })
	if got, want := r.msg, "timed out after 10ms waiting for a miracle: none yet"; got != want {
		t.Fatalf("WaitForCheck failed with %q, want %q", got, want)
	}
}
