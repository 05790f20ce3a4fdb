package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// progress shows the run as it goes: on a terminal one status line
// redrawn four times a second (phase, elapsed, requests/s, outcomes,
// p50/p99 over the last second, viewers, frames/s); elsewhere one line
// per phase as it ends.
type progress struct {
	out  io.Writer
	rec  *recorder
	live bool

	mu      sync.Mutex
	drawn   bool // a status line is on screen
	stopc   chan struct{}
	done    chan struct{}
	shown   *phase
	seen    int        // samples of shown already counted
	window  [][]sample // the last second's ticks
	frames  []int64    // frame counts at those ticks
	reports map[*phase]bool
}

func newProgress(out io.Writer, rec *recorder, live bool) *progress {
	p := &progress{out: out, rec: rec, live: live, reports: map[*phase]bool{}}
	rec.onEnd = p.ended
	return p
}

// start begins drawing; stop ends it (and prints the last phase's line).
func (p *progress) start() {
	p.stopc, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stopc:
				p.tick(true)
				return
			case <-t.C:
				p.tick(false)
			}
		}
	}()
}

func (p *progress) stop() {
	if p.stopc == nil {
		return
	}
	close(p.stopc)
	<-p.done
	p.stopc = nil
}

// say prints a line above the status line.
func (p *progress) say(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintln(p.out, line)
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.out, "\r\033[K")
		p.drawn = false
	}
}

// tick follows the current phase; when it changed, the one before is
// summed up in a line.
func (p *progress) tick(last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.rec.cur.Load()
	if cur != p.shown {
		p.shown, p.seen, p.window, p.frames = cur, 0, nil, nil
	}
	if cur == nil || last {
		return
	}
	var fresh []sample
	fresh, p.seen = cur.snapshot(p.seen)
	p.window = append(p.window, fresh)
	p.frames = append(p.frames, p.rec.frames.Load())
	if len(p.window) > 4 {
		p.window, p.frames = p.window[1:], p.frames[1:]
	}
	cur.mu.Lock()
	ended := cur.End != 0
	cur.mu.Unlock()
	if !p.live || ended {
		return
	}
	var recent []sample
	for _, w := range p.window {
		recent = append(recent, w...)
	}
	span := time.Duration(len(p.window)) * 250 * time.Millisecond
	ds := latencies(recent)
	fps := 0.0
	if n := len(p.frames); n > 1 {
		fps = float64(p.frames[n-1]-p.frames[0]) / (time.Duration(n-1) * 250 * time.Millisecond).Seconds()
	}
	p.clear()
	fmt.Fprintf(p.out, "%-10s %6.1fs  %7.0f req/s  p50 %-7s p99 %-7s  %s  viewers %d  %.0f frames/s",
		cur.Name, time.Since(p.rec.start.Add(cur.Start)).Seconds(), float64(len(recent))/span.Seconds(),
		short(percentile(ds, 0.5)), short(percentile(ds, 0.99)), outcomeLine(outcomes(recent), 3), p.rec.viewers.Load(), fps)
	p.drawn = true
}

// ended prints one line for a phase that just ended.
func (p *progress) ended(ph *phase) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.summary(ph)
}

// summary prints one line for a finished phase.
func (p *progress) summary(ph *phase) {
	if p.reports[ph] {
		return
	}
	p.reports[ph] = true
	ss, _ := ph.snapshot(0)
	ph.mu.Lock()
	end := ph.End
	ph.mu.Unlock()
	if end == 0 {
		end = p.rec.since(time.Now())
	}
	d := end - ph.Start
	ds := latencies(ss)
	p.clear()
	if len(ss) == 0 {
		fmt.Fprintf(p.out, "%s: %s %s\n", ph.Name, d.Round(time.Millisecond), ph.Note)
		return
	}
	fmt.Fprintf(p.out, "%s: %s, %d answers, %.0f/s, p50 %s p99 %s, %s\n", ph.Name, d.Round(time.Millisecond), len(ss),
		float64(len(ss))/d.Seconds(), short(percentile(ds, 0.5)), short(percentile(ds, 0.99)), outcomeLine(outcomes(ss), 6))
}

// outcomeLine names the n commonest outcomes with their counts.
func outcomeLine(m map[string]int, n int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// short prints a latency with a precision fit for it.
func short(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
