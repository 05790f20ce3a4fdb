package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the run's result: the JSON file's shape, and what the text
// table and the HTML page are drawn from. Durations are milliseconds.
type report struct {
	URL        string         `json:"url"`
	StartedAt  time.Time      `json:"startedAt"`
	Config     config         `json:"config"`
	Phases     []phaseSummary `json:"phases"`
	Frames     frameSummary   `json:"frames"`
	Facts      facts          `json:"facts"`
	Invariants []invariant    `json:"invariants"`
	Notes      []string       `json:"notes"`
}

// phaseSummary is one phase's figures.
type phaseSummary struct {
	Name         string         `json:"name"`
	StartMs      float64        `json:"startMs"`
	DurationMs   float64        `json:"durationMs"`
	Requests     int            `json:"requests"`
	PerSecond    float64        `json:"perSecond"`
	ShareOfFloor float64        `json:"shareOfFloor,omitempty"`
	P50Ms        float64        `json:"p50Ms"`
	P90Ms        float64        `json:"p90Ms"`
	P99Ms        float64        `json:"p99Ms"`
	Outcomes     map[string]int `json:"outcomes"`
	Note         string         `json:"note,omitempty"`
	Seconds      []secondBucket `json:"seconds"`
}

// secondBucket is one second of a phase: answers that started in it and
// their latency percentiles.
type secondBucket struct {
	Second  int     `json:"second"` // since the run's start
	Answers int     `json:"answers"`
	P50Ms   float64 `json:"p50Ms"`
	P90Ms   float64 `json:"p90Ms"`
	P99Ms   float64 `json:"p99Ms"`
}

// frameSummary is what the viewers saw: frame counts, delays of the
// frames that carry the server's timestamp (stock and countdown: built
// on the server, to read on the viewer) and their distribution.
type frameSummary struct {
	Viewers   int       `json:"viewers"`
	Received  int64     `json:"received"`
	Dropped   int64     `json:"dropped"`
	Rejoined  int64     `json:"rejoined"`
	Timed     int       `json:"timed"`
	P50Ms     float64   `json:"p50Ms"`
	P90Ms     float64   `json:"p90Ms"`
	P99Ms     float64   `json:"p99Ms"`
	MaxMs     float64   `json:"maxMs"`
	Histogram []hbucket `json:"histogram"`
}

// hbucket counts frame delays up to UpToMs (the last bucket: beyond).
type hbucket struct {
	UpToMs float64 `json:"upToMs"`
	Count  int     `json:"count"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize sums up one phase.
func summarize(p *phase) phaseSummary {
	ss, _ := p.snapshot(0)
	p.mu.Lock()
	start, end := p.Start, p.End
	p.mu.Unlock()
	d := end - start
	ds := latencies(ss)
	out := phaseSummary{
		Name: p.Name, Note: p.Note, StartMs: ms(start), DurationMs: ms(d), Requests: len(ss), Outcomes: outcomes(ss),
		P50Ms: ms(percentile(ds, 0.5)), P90Ms: ms(percentile(ds, 0.9)), P99Ms: ms(percentile(ds, 0.99)),
	}
	if d > 0 {
		out.PerSecond = float64(len(ss)) / d.Seconds()
	}
	bySecond := map[int][]sample{}
	for _, s := range ss {
		bySecond[int(s.At/time.Second)] = append(bySecond[int(s.At/time.Second)], s)
	}
	for _, sec := range slices.Sorted(mapsKeys(bySecond)) {
		l := latencies(bySecond[sec])
		out.Seconds = append(out.Seconds, secondBucket{Second: sec, Answers: len(l),
			P50Ms: ms(percentile(l, 0.5)), P90Ms: ms(percentile(l, 0.9)), P99Ms: ms(percentile(l, 0.99))})
	}
	return out
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// delayBuckets are the frame-delay histogram's upper bounds, in ms.
var delayBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}

// report builds the run's report from the recorder, the viewers and the facts.
func (s *sale) report(f facts) *report {
	r := &report{URL: s.base, StartedAt: s.rec.start.UTC(), Config: s.cfg, Facts: f, Invariants: checkInvariants(f), Notes: s.notes}
	s.rec.mu.Lock()
	phases := slices.Clone(s.rec.phases)
	s.rec.mu.Unlock()
	floor := 0.0
	for _, p := range phases {
		ps := summarize(p)
		if ps.Name == "floor" {
			floor = ps.PerSecond
		}
		r.Phases = append(r.Phases, ps)
	}
	for i := range r.Phases {
		if n := r.Phases[i].Name; floor > 0 && (n == "rush" || n == "accept" || n == "sold-out" || n == "bots") {
			r.Phases[i].ShareOfFloor = r.Phases[i].PerSecond / floor
		}
	}
	r.Frames.Viewers = s.cfg.Viewers
	r.Frames.Received = s.rec.frames.Load()
	if s.viewers != nil {
		r.Frames.Dropped, r.Frames.Rejoined = s.viewers.dropped.Load(), s.viewers.rejoins.Load()
		ds := s.viewers.frameDelays()
		r.Frames.Timed = len(ds)
		r.Frames.P50Ms, r.Frames.P90Ms, r.Frames.P99Ms = ms(percentile(ds, 0.5)), ms(percentile(ds, 0.9)), ms(percentile(ds, 0.99))
		if len(ds) > 0 {
			r.Frames.MaxMs = ms(ds[len(ds)-1])
		}
		r.Frames.Histogram = histogram(ds)
	}
	return r
}

// histogram counts ds into delayBuckets, plus one bucket beyond the last.
func histogram(ds []time.Duration) []hbucket {
	hs := make([]hbucket, len(delayBuckets)+1)
	for i, b := range delayBuckets {
		hs[i].UpToMs = b
	}
	hs[len(delayBuckets)].UpToMs = -1
	for _, d := range ds {
		i, _ := slices.BinarySearch(delayBuckets, ms(d))
		hs[i].Count++
	}
	return hs
}

// failed reports whether an invariant failed.
func (r *report) failed() bool {
	for _, inv := range r.Invariants {
		if !inv.OK {
			return true
		}
	}
	return false
}

// write prints the text report to out and writes the JSON and HTML files
// when asked.
func (r *report) write(out io.Writer, jsonPath, htmlPath string) error {
	r.text(out)
	if jsonPath != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(out, "JSON report:", jsonPath)
	}
	if htmlPath != "" {
		if err := os.WriteFile(htmlPath, r.html(), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(out, "HTML report:", htmlPath)
	}
	return nil
}

// text prints the phase table, the frames line and the invariants.
func (r *report) text(out io.Writer) {
	fmt.Fprintf(out, "\nflashlive-bench against %s: %d buyers, %d viewers, %d in flight, stock %d, limit %d\n\n",
		r.URL, r.Config.Buyers, r.Config.Viewers, r.Config.Conns, r.Config.Stock, r.Config.Limit)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\ttime\tanswers\tthroughput\tshare of floor\tp50\tp90\tp99\toutcomes")
	for _, p := range r.Phases {
		share := ""
		if p.ShareOfFloor > 0 {
			share = fmt.Sprintf("%.2f", p.ShareOfFloor)
		}
		lat := func(v float64) string {
			if p.Requests == 0 {
				return ""
			}
			return short(time.Duration(v * 1e6))
		}
		tput := ""
		if p.Requests > 0 {
			tput = fmt.Sprintf("%.0f/s", p.PerSecond)
		}
		fmt.Fprintf(tw, "%s\t%.1fs\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.DurationMs/1000, p.Requests, tput, share,
			lat(p.P50Ms), lat(p.P90Ms), lat(p.P99Ms), cmpOr(outcomeLine(p.Outcomes, 5), p.Note))
	}
	tw.Flush()
	f := r.Frames
	fmt.Fprintf(out, "\nviewers: %d, frames received %d, sockets closed by the server %d (reopened %d)\n", f.Viewers, f.Received, f.Dropped, f.Rejoined)
	if f.Timed > 0 {
		fmt.Fprintf(out, "frame delay (stock and countdown frames, server timestamp to viewer): p50 %s p90 %s p99 %s max %s over %d frames\n",
			short(time.Duration(f.P50Ms*1e6)), short(time.Duration(f.P90Ms*1e6)), short(time.Duration(f.P99Ms*1e6)), short(time.Duration(f.MaxMs*1e6)), f.Timed)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(out, "note:", n)
	}
	fmt.Fprintln(out)
	for _, inv := range r.Invariants {
		mark := "ok  "
		if !inv.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s %s: %s\n", mark, inv.Name, inv.Detail)
	}
	if r.failed() {
		var names []string
		for _, inv := range r.Invariants {
			if !inv.OK {
				names = append(names, inv.Name)
			}
		}
		fmt.Fprintf(out, "\nINVARIANT FAILED: %s\n", strings.Join(names, "; "))
	}
}
