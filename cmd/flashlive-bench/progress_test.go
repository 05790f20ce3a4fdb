package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressQuietPrintsOneLinePerPhase: off a terminal, each phase is
// one line when it ends, with its answers and outcomes.
func TestProgressQuietPrintsOneLinePerPhase(t *testing.T) {
	var out bytes.Buffer
	rec := newRecorder()
	p := newProgress(&out, rec, false)
	for _, name := range []string{"floor", "rush"} {
		ph := rec.begin(name)
		ph.add(sample{Latency: time.Millisecond, Outcome: "OK"})
		ph.add(sample{Latency: 3 * time.Millisecond, Outcome: "SOLD_OUT"})
		p.tick(false)
		rec.end(ph)
	}
	p.tick(true)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "floor: ") || !strings.Contains(lines[1], "2 answers") || !strings.Contains(lines[1], "OK 1, SOLD_OUT 1") {
		t.Fatalf("output %q", out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatal("quiet output redraws a line")
	}
}

// TestProgressLiveRedrawsOneStatusLine: on a terminal, each tick redraws
// the status line in place, and a phase's summary replaces it.
func TestProgressLiveRedrawsOneStatusLine(t *testing.T) {
	var out bytes.Buffer
	rec := newRecorder()
	p := newProgress(&out, rec, true)
	ph := rec.begin("rush")
	ph.add(sample{Latency: 2 * time.Millisecond, Outcome: "RESERVED"})
	rec.viewers.Store(7)
	p.tick(false)
	p.tick(false)
	status := out.String()
	if !strings.Contains(status, "rush") || !strings.Contains(status, "RESERVED 1") || !strings.Contains(status, "viewers 7") || strings.Count(status, "\r\033[K") != 1 {
		t.Fatalf("status %q", status)
	}
	rec.end(ph)
	if got := out.String()[len(status):]; !strings.HasPrefix(got, "\r\033[Krush: ") || !strings.HasSuffix(got, "\n") {
		t.Fatalf("summary %q", got)
	}
}
