package main

import (
	"bytes"
	"crypto/sha256"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckTargetRefusesHostsNotNamed(t *testing.T) {
	for _, tt := range []struct {
		url, allow string
		ok         bool
	}{
		{"http://127.0.0.1:8080", "", true},
		{"http://localhost:8080", "", true},
		{"http://[::1]:8080", "", true},
		{"http://example.com:8080", "", false},
		{"http://10.0.0.5:8080", "", false},
		{"http://10.0.0.5:8080", "staging.local, 10.0.0.5", true},
		{"ftp://127.0.0.1", "", false},
		{"127.0.0.1:8080", "", false},
	} {
		_, err := checkTarget(tt.url, tt.allow)
		if (err == nil) != tt.ok {
			t.Errorf("checkTarget(%q, %q) = %v, want ok %v", tt.url, tt.allow, err, tt.ok)
		}
	}
}

func TestAddressPoolOnlyForIPv4Loopback(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:8080")
	p := newAddressPool(u, 300)
	if len(p) != 300 || p.at(0).String() != "127.1.0.1" || p.at(253).String() != "127.1.0.254" || p.at(254).String() != "127.1.1.1" || !p.at(300).Equal(p.at(0)) {
		t.Fatalf("pool of %d: %v %v %v", len(p), p.at(0), p.at(253), p.at(254))
	}
	for _, raw := range []string{"http://[::1]:8080", "http://10.0.0.5:8080"} {
		u, _ := url.Parse(raw)
		if p := newAddressPool(u, 10); len(p) != 0 || p.at(3) != nil {
			t.Fatalf("%s: pool %v, want none", raw, p)
		}
	}
}

func TestParseFlagsRefusesBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"-buyers", "0"}, {"-conns", "0"}, {"-pay", "0.8", "-cancel", "0.3"}, {"-limit", "0"}, {"-progress", "maybe"}, {"extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) took it", args)
		}
	}
	c, err := parseFlags([]string{"-buyers", "10", "-limit", "3"}, &bytes.Buffer{})
	if err != nil || c.Stock != 15 {
		t.Fatalf("default stock %d (%v), want buyers × limit / 2 = 15", c.Stock, err)
	}
}

func TestHistogramBuckets(t *testing.T) {
	hs := histogram([]time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Second})
	got := map[float64]int{}
	for _, h := range hs {
		got[h.UpToMs] = h.Count
	}
	if got[1] != 2 || got[5] != 1 || got[-1] != 1 {
		t.Fatalf("histogram %+v", hs)
	}
}

func TestSolveFindsTheProofOfWork(t *testing.T) {
	nonce, err := solve("challenge", 12)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("challenge" + nonce))
	if leadingZeros(sum[:]) < 12 {
		t.Fatalf("nonce %q gives %x", nonce, sum)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	r := &report{URL: "http://127.0.0.1:1", Config: config{Buyers: 1}, Invariants: checkInvariants(cleanFacts()),
		Phases: []phaseSummary{{Name: "floor", Requests: 3, PerSecond: 3, Outcomes: map[string]int{"OK": 3},
			Seconds: []secondBucket{{Second: 1, Answers: 3, P50Ms: 1, P99Ms: 2}}}},
		Frames: frameSummary{Timed: 1, Histogram: histogram([]time.Duration{time.Millisecond})}}
	page := string(r.html())
	for _, want := range []string{"<svg", "Throughput over time", "Latency over time", "Frame delays", "Outcomes", "no oversell held"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<script src", "<link"} {
		if strings.Contains(strings.ReplaceAll(page, "http://127.0.0.1:1", ""), bad) && bad != "http://" {
			t.Errorf("page loads %q from the network", bad)
		}
	}
	if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(page, "http://127.0.0.1:1", ""), "http://www.w3.org/2000/svg", ""), "http") {
		t.Error("page names a URL other than the server's and the SVG namespace")
	}
}
