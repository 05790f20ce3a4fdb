package main

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one answered request: when it started (since the run's
// start), how long it took and what it answered.
type sample struct {
	At      time.Duration
	Latency time.Duration
	Outcome string
}

// phase is the record of one phase of the run: its span and the
// requests made in it. Samples are appended by many goroutines.
type phase struct {
	Name  string
	Start time.Duration // since the run's start
	End   time.Duration // zero while it runs
	Note  string        // a line the report prints under the table

	mu      sync.Mutex
	samples []sample
}

// add records one answer.
func (p *phase) add(s sample) {
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
}

// snapshot copies the samples recorded from index from on.
func (p *phase) snapshot(from int) ([]sample, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if from > len(p.samples) {
		from = len(p.samples)
	}
	return slices.Clone(p.samples[from:]), len(p.samples)
}

// recorder is the run's clock and phases, and the live counters the
// progress display reads.
type recorder struct {
	start time.Time

	mu     sync.Mutex
	phases []*phase
	cur    atomic.Pointer[phase]

	onEnd func(*phase) // called as each phase ends

	viewers atomic.Int64 // viewers connected now
	frames  atomic.Int64 // frames received by viewers so far
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

// since is the time since the run's start.
func (r *recorder) since(t time.Time) time.Duration { return t.Sub(r.start) }

// begin starts a phase and makes it the one the progress display shows.
func (r *recorder) begin(name string) *phase {
	p := &phase{Name: name, Start: r.since(time.Now())}
	r.mu.Lock()
	r.phases = append(r.phases, p)
	r.mu.Unlock()
	r.cur.Store(p)
	return p
}

// beside starts a phase that runs at the same time as the current one
// (the bots during the rush) without taking the display.
func (r *recorder) beside(name string) *phase {
	p := &phase{Name: name, Start: r.since(time.Now())}
	r.mu.Lock()
	r.phases = append(r.phases, p)
	r.mu.Unlock()
	return p
}

// drop forgets a phase that came to nothing (a skipped one).
func (r *recorder) drop(p *phase) {
	r.mu.Lock()
	r.phases = slices.DeleteFunc(r.phases, func(q *phase) bool { return q == p })
	r.mu.Unlock()
}

// end closes a phase.
func (r *recorder) end(p *phase) {
	p.mu.Lock()
	p.End = r.since(time.Now())
	p.mu.Unlock()
	if r.onEnd != nil {
		r.onEnd(p)
	}
}

// timed runs one request, records its answer in p and returns it.
func (r *recorder) timed(p *phase, f func() string) string {
	t0 := time.Now()
	out := f()
	p.add(sample{At: r.since(t0), Latency: time.Since(t0), Outcome: out})
	return out
}

// percentile is the p-th quantile (0..1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)))
	return sorted[min(i, len(sorted)-1)]
}

// latencies returns the sorted latencies of samples.
func latencies(ss []sample) []time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = s.Latency
	}
	slices.Sort(ds)
	return ds
}

// outcomes counts samples by outcome.
func outcomes(ss []sample) map[string]int {
	m := map[string]int{}
	for _, s := range ss {
		m[s.Outcome]++
	}
	return m
}
