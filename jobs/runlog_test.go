package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// logLines is a slog JSON handler's output, safe to write from the jobs'
// goroutines and to read from the test's.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns every line logged, decoded.
func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.buf.Bytes()))
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// count returns how many records have the message msg.
func count(recs []map[string]any, msg string) int {
	n := 0
	for _, r := range recs {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}

const (
	msgFailing   = "job failing: a dependency is unavailable; logged again when the job recovers"
	msgRecovered = "job recovered"
	msgFailed    = "job failed"
)

var errBreakerOpen = domain.Errorf(domain.EUNAVAILABLE, "the order database is unavailable; retry shortly")

// TestRunLogUnavailableOnceAndRecovery: a job whose runs fail UNAVAILABLE
// (the PostgreSQL breaker open) is logged once when it starts failing and
// once when it recovers, with the failed runs counted; every other failure
// is logged at each run; a second outage is logged again.
func TestRunLogUnavailableOnceAndRecovery(t *testing.T) {
	var out logLines
	l := &runLog{name: "expire", logger: slog.New(slog.NewJSONHandler(&out, nil))}
	t0 := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	l.report(nil, time.Millisecond, at(0))
	for s := 1; s <= 60; s++ { // a minute of the breaker open, one run a second
		l.report(fmt.Errorf("expire: %w", errBreakerOpen), time.Millisecond, at(s))
	}
	recs := out.records(t)
	if len(recs) != 1 || count(recs, msgFailing) != 1 || recs[0]["job"] != "expire" || recs[0]["level"] != "ERROR" {
		t.Fatalf("after 60 UNAVAILABLE runs: %v, want the one failing line", recs)
	}
	l.report(nil, time.Millisecond, at(61))
	l.report(nil, time.Millisecond, at(62))
	recs = out.records(t)
	if len(recs) != 2 || count(recs, msgRecovered) != 1 {
		t.Fatalf("after recovery: %v, want one recovered line", recs)
	}
	rec := recs[1]
	if rec["failed_runs"] != float64(60) || rec["unavailable_for"] != float64(60*time.Second) || rec["level"] != "INFO" {
		t.Fatalf("recovered line %v, want 60 failed runs over 60s", rec)
	}

	// Another failure is logged each time, and breaks no outage count.
	l.report(errors.New("bad row"), time.Millisecond, at(63))
	l.report(errors.New("bad row"), time.Millisecond, at(64))
	// A second outage: logged again, once.
	l.report(errBreakerOpen, time.Millisecond, at(65))
	l.report(errBreakerOpen, time.Millisecond, at(66))
	l.report(nil, time.Millisecond, at(67))
	recs = out.records(t)
	if count(recs, msgFailed) != 2 || count(recs, msgFailing) != 2 || count(recs, msgRecovered) != 2 || len(recs) != 6 {
		t.Fatalf("log %v: want 2 failed, 2 failing, 2 recovered", recs)
	}
	if last := recs[5]; last["failed_runs"] != float64(2) {
		t.Fatalf("second recovery %v, want 2 failed runs", last)
	}
}

// TestSchedulerLogsOutageOnce runs a real gocron job every 5 ms that fails
// UNAVAILABLE for its first 20 runs, then succeeds: the process log has
// one failing line and one recovered line (20 failed runs), never "job
// failed".
func TestSchedulerLogsOutageOnce(t *testing.T) {
	var out logLines
	s, err := NewScheduler(slog.New(slog.NewJSONHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	if err := s.Every("reconcile", 5*time.Millisecond, time.Second, func(context.Context) error {
		if runs.Add(1) <= 20 {
			return fmt.Errorf("reconcile: %w", errBreakerOpen)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	testenv.WaitFor(t, 30*time.Second, "25 runs", func() bool { return runs.Load() >= 25 })
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	recs := out.records(t)
	if count(recs, msgFailing) != 1 || count(recs, msgRecovered) != 1 || count(recs, msgFailed) != 0 || len(recs) != 2 {
		t.Fatalf("log of %d runs: %v, want one failing and one recovered line", runs.Load(), recs)
	}
	if recs[1]["failed_runs"] != float64(20) {
		t.Fatalf("recovered line %v, want 20 failed runs", recs[1])
	}
}
