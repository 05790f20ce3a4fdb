package main

import (
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// series is one line of a chart.
type series struct {
	Name   string
	Color  string
	Points [][2]float64 // x, y
	Dashed bool
}

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f", "#64748b"}

const chartW, chartH, padL, padR, padT, padB = 760.0, 260.0, 60.0, 150.0, 30.0, 40.0

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// lineChart draws series as an inline SVG.
func lineChart(title, xLabel, yLabel string, ss []series) string {
	maxX, maxY := 1.0, 0.0
	for _, s := range ss {
		for _, p := range s.Points {
			maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
		}
	}
	maxY = niceMax(maxY)
	x := func(v float64) float64 { return padL + v/maxX*(chartW-padL-padR) }
	y := func(v float64) float64 { return chartH - padB - v/maxY*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" class="t">%s</text>`, padL, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="g"/><text x="%.1f" y="%.1f" class="a" text-anchor="end">%s</text>`,
			padL, chartW-padR, y(v), y(v), padL-6, y(v)+4, trimFloat(v))
	}
	for i := 0; i <= 5; i++ {
		v := maxX * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="a" text-anchor="middle">%s</text>`, x(v), chartH-padB+16, trimFloat(v))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="a" text-anchor="middle">%s</text>`, (padL+chartW-padR)/2, chartH-6, html.EscapeString(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" class="a" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`, chartH/2, chartH/2, html.EscapeString(yLabel))
	for i, s := range ss {
		if len(s.Points) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1])))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, s.Color, dash, strings.Join(pts, " "))
		if len(s.Points) == 1 {
			fmt.Fprintf(&b, `<circle cx="%s" r="3" fill="%s"/>`, strings.Replace(pts[0], ",", `" cy="`, 1), s.Color)
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="3" fill="%s"/><text x="%.1f" y="%.1f" class="a">%s</text>`,
			chartW-padR+10, padT+float64(i)*16, s.Color, chartW-padR+26, padT+float64(i)*16+5, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// barChart draws labelled bars, each split into coloured parts, as an inline SVG.
func barChart(title string, labels []string, parts [][]barPart, unit string) string {
	maxV := 0.0
	for _, ps := range parts {
		t := 0.0
		for _, p := range ps {
			t += p.Value
		}
		maxV = math.Max(maxV, t)
	}
	maxV = niceMax(maxV)
	rowH := 22.0
	h := padT + rowH*float64(len(labels)) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, chartW, h, chartW, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" class="t">%s</text>`, 110.0, html.EscapeString(title))
	w := chartW - 110 - 40
	for i, l := range labels {
		yy := padT + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="104" y="%.1f" class="a" text-anchor="end">%s</text>`, yy+14, html.EscapeString(l))
		xx := 110.0
		for _, p := range parts[i] {
			pw := p.Value / maxV * w
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s %s</title></rect>`,
				xx, yy+2, pw, rowH-6, p.Color, html.EscapeString(p.Name), trimFloat(p.Value), unit)
			if pw > 60 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="in">%s %s</text>`, xx+4, yy+14, html.EscapeString(p.Name), trimFloat(p.Value))
			}
			xx += pw
		}
	}
	fmt.Fprintf(&b, `<text x="110" y="%.1f" class="a">0</text><text x="%.1f" y="%.1f" class="a" text-anchor="end">%s %s</text>`, h-8, 110+w, h-8, trimFloat(maxV), unit)
	b.WriteString(`</svg>`)
	return b.String()
}

// barPart is one coloured part of a bar.
type barPart struct {
	Name  string
	Value float64
	Color string
}

func trimFloat(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// measured are the phases whose requests the charts over time show.
func (r *report) measured() []phaseSummary {
	var out []phaseSummary
	for _, p := range r.Phases {
		if len(p.Seconds) > 0 && p.Name != "sign-up" {
			out = append(out, p)
		}
	}
	return out
}

// html renders the report as one page that needs no network: the table,
// the invariants and inline SVG charts.
func (r *report) html() []byte {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>flashlive-bench report</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:1000px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 10px;white-space:nowrap;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child,td:last-child{text-align:left}td:last-child{white-space:normal}
.ok{color:#15803d}.fail{color:#b91c1c;font-weight:bold}svg{display:block;margin:8px 0}.t{font-weight:600;font-size:13px}.a{font-size:11px;fill:#444}
.g{stroke:#e5e7eb}.in{font-size:10px;fill:#fff}.note{color:#555}</style></head><body>`)
	fmt.Fprintf(&b, `<h1>flashlive-bench: %s</h1><p>%s · %d buyers · %d viewers · %d requests in flight · stock %d · at most %d per buyer</p>`,
		html.EscapeString(r.URL), r.StartedAt.Format(time.RFC3339), r.Config.Buyers, r.Config.Viewers, r.Config.Conns, r.Config.Stock, r.Config.Limit)

	b.WriteString(`<h2>Invariants</h2><ul>`)
	for _, inv := range r.Invariants {
		cls, mark := "ok", "held"
		if !inv.OK {
			cls, mark = "fail", "FAILED"
		}
		fmt.Fprintf(&b, `<li class="%s">%s %s: %s</li>`, cls, html.EscapeString(inv.Name), mark, html.EscapeString(inv.Detail))
	}
	b.WriteString(`</ul>`)

	b.WriteString(`<h2>Phases</h2><table><tr><th>phase</th><th>time</th><th>answers</th><th>throughput</th><th>share of floor</th><th>p50</th><th>p90</th><th>p99</th><th>outcomes</th></tr>`)
	for _, p := range r.Phases {
		share := ""
		if p.ShareOfFloor > 0 {
			share = fmt.Sprintf("%.2f", p.ShareOfFloor)
		}
		tput, p50, p90, p99 := "", "", "", ""
		if p.Requests > 0 {
			tput = fmt.Sprintf("%.0f/s", p.PerSecond)
			p50, p90, p99 = fmt.Sprintf("%.2f ms", p.P50Ms), fmt.Sprintf("%.2f ms", p.P90Ms), fmt.Sprintf("%.2f ms", p.P99Ms)
		}
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%.1fs</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
			html.EscapeString(p.Name), p.DurationMs/1000, p.Requests, tput, share, p50, p90, p99, html.EscapeString(cmpOr(outcomeLine(p.Outcomes, 6), p.Note)))
	}
	b.WriteString(`</table>`)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, `<p class="note">%s</p>`, html.EscapeString(n))
	}

	var tput, lat []series
	for i, p := range r.measured() {
		c := palette[i%len(palette)]
		var pts, p50, p99 [][2]float64
		for _, s := range p.Seconds {
			pts = append(pts, [2]float64{float64(s.Second), float64(s.Answers)})
			p50 = append(p50, [2]float64{float64(s.Second), s.P50Ms})
			p99 = append(p99, [2]float64{float64(s.Second), s.P99Ms})
		}
		tput = append(tput, series{Name: p.Name, Color: c, Points: pts})
		lat = append(lat, series{Name: p.Name + " p50", Color: c, Points: p50, Dashed: true}, series{Name: p.Name + " p99", Color: c, Points: p99})
	}
	b.WriteString(`<h2>Throughput over time</h2>`)
	b.WriteString(lineChart("answers per second, by phase", "seconds since the start of the run", "answers/s", tput))
	b.WriteString(`<h2>Latency over time</h2>`)
	b.WriteString(lineChart("p50 (dashed) and p99 per second, by phase", "seconds since the start of the run", "ms", lat))

	f := r.Frames
	fmt.Fprintf(&b, `<h2>Frame delays</h2><p>%d viewers; %d frames received; %d sockets closed by the server (%d reopened). Stock and countdown frames, from the server's timestamp to the viewer: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms over %d frames.</p>`,
		f.Viewers, f.Received, f.Dropped, f.Rejoined, f.P50Ms, f.P90Ms, f.P99Ms, f.MaxMs, f.Timed)
	var labels []string
	var parts [][]barPart
	prev := 0.0
	for _, h := range f.Histogram {
		l := fmt.Sprintf("%s–%s ms", trimFloat(prev), trimFloat(h.UpToMs))
		if h.UpToMs < 0 {
			l = fmt.Sprintf("> %s ms", trimFloat(prev))
		}
		prev = h.UpToMs
		labels = append(labels, l)
		parts = append(parts, []barPart{{Name: "frames", Value: float64(h.Count), Color: palette[0]}})
	}
	if f.Timed > 0 {
		b.WriteString(barChart("frames by delay", labels, parts, "frames"))
	}

	b.WriteString(`<h2>Outcomes</h2>`)
	colors := map[string]string{}
	labels, parts = nil, nil
	for _, p := range r.Phases {
		if p.Requests == 0 {
			continue
		}
		var ps []barPart
		for _, k := range slices.Sorted(maps.Keys(p.Outcomes)) {
			if colors[k] == "" {
				colors[k] = palette[len(colors)%len(palette)]
			}
			ps = append(ps, barPart{Name: k, Value: float64(p.Outcomes[k]), Color: colors[k]})
		}
		labels, parts = append(labels, p.Name), append(parts, ps)
	}
	b.WriteString(barChart("answers by outcome, by phase", labels, parts, "answers"))
	b.WriteString(`<p>`)
	for _, k := range slices.Sorted(maps.Keys(colors)) {
		fmt.Fprintf(&b, `<span style="display:inline-block;width:10px;height:10px;background:%s"></span> %s &nbsp; `, colors[k], html.EscapeString(k))
	}
	b.WriteString(`</p>`)
	b.WriteString(`</body></html>`)
	return []byte(b.String())
}
