package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, bad := parseTrustedProxies("10.0.0.0/8, 192.168.1.1, fd00::/8")
	if len(bad) != 0 {
		t.Fatalf("bad %v", bad)
	}
	for _, tt := range []struct {
		name    string
		trusted trustedProxies
		peer    string
		xff     []string // X-Forwarded-For lines
		fwd     []string // Forwarded lines
		want    string   // "" for no address
	}{
		{name: "no proxies trusted: the peer", peer: "203.0.113.5:4000", want: "203.0.113.5"},
		{name: "spoofed XFF from an untrusted peer is ignored", trusted: trusted, peer: "203.0.113.5:4000",
			xff: []string{"1.2.3.4"}, want: "203.0.113.5"},
		{name: "spoofed Forwarded from an untrusted peer is ignored", trusted: trusted, peer: "203.0.113.5:4000",
			fwd: []string{"for=1.2.3.4"}, want: "203.0.113.5"},
		{name: "headers ignored when nothing is trusted", peer: "10.0.0.1:1", xff: []string{"1.2.3.4"}, want: "10.0.0.1"},
		{name: "trusted peer names the client", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "trusted peer without headers: the peer", trusted: trusted, peer: "10.0.0.1:1", want: "10.0.0.1"},
		{name: "chain through several trusted proxies", trusted: trusted, peer: "10.0.0.1:1",
			xff: []string{"198.51.100.7, 10.1.1.1, 192.168.1.1"}, want: "198.51.100.7"},
		{name: "the client's own spoofed hops left of the nearest untrusted one are ignored", trusted: trusted, peer: "10.0.0.1:1",
			xff: []string{"6.6.6.6, 7.7.7.7, 198.51.100.7, 10.1.1.1"}, want: "198.51.100.7"},
		{name: "several XFF lines are one list", trusted: trusted, peer: "10.0.0.1:1",
			xff: []string{"6.6.6.6", "198.51.100.7", "10.2.2.2"}, want: "198.51.100.7"},
		{name: "a chain of trusted proxies only: its first", trusted: trusted, peer: "10.0.0.1:1",
			xff: []string{"10.9.9.9, 10.8.8.8"}, want: "10.9.9.9"},
		{name: "XFF hop with a port", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"198.51.100.7:5555"}, want: "198.51.100.7"},
		{name: "IPv6 peer, trusted", trusted: trusted, peer: "[fd00::1]:443", xff: []string{"2001:db8::42"}, want: "2001:db8::42"},
		{name: "IPv6 peer, untrusted", trusted: trusted, peer: "[2001:db8::9]:443", xff: []string{"1.2.3.4"}, want: "2001:db8::9"},
		{name: "IPv6 hop in brackets with a port", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"[2001:db8::42]:8080"}, want: "2001:db8::42"},
		{name: "IPv6 hop in brackets", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"[2001:db8::42]"}, want: "2001:db8::42"},
		{name: "IPv4-mapped IPv6 reads as IPv4", trusted: trusted, peer: "[::ffff:10.0.0.1]:1", xff: []string{"::ffff:198.51.100.7"}, want: "198.51.100.7"},
		{name: "zone dropped", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},
		{name: "malformed hop: stop at the last trusted one", trusted: trusted, peer: "10.0.0.1:1",
			xff: []string{"198.51.100.7, not-an-ip, 10.1.1.1"}, want: "10.1.1.1"},
		{name: "malformed nearest hop: the peer", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"garbage"}, want: "10.0.0.1"},
		{name: "empty hop: the peer", trusted: trusted, peer: "10.0.0.1:1", xff: []string{"198.51.100.7,"}, want: "10.0.0.1"},
		{name: "huge hop: the peer", trusted: trusted, peer: "10.0.0.1:1", xff: []string{strings.Repeat("1", 100)}, want: "10.0.0.1"},
		{name: "Forwarded", trusted: trusted, peer: "10.0.0.1:1", fwd: []string{"for=198.51.100.7;proto=https;by=10.0.0.1"}, want: "198.51.100.7"},
		{name: "Forwarded, quoted IPv6 with a port", trusted: trusted, peer: "10.0.0.1:1",
			fwd: []string{`for="[2001:db8:cafe::17]:4711"`}, want: "2001:db8:cafe::17"},
		{name: "Forwarded chain", trusted: trusted, peer: "10.0.0.1:1",
			fwd: []string{"for=6.6.6.6, for=198.51.100.7", "for=10.3.3.3;proto=http"}, want: "198.51.100.7"},
		{name: "Forwarded key is case-insensitive", trusted: trusted, peer: "10.0.0.1:1", fwd: []string{"For=198.51.100.7"}, want: "198.51.100.7"},
		{name: "Forwarded wins over XFF", trusted: trusted, peer: "10.0.0.1:1",
			fwd: []string{"for=198.51.100.7"}, xff: []string{"6.6.6.6"}, want: "198.51.100.7"},
		{name: "Forwarded unknown: the last trusted hop", trusted: trusted, peer: "10.0.0.1:1", fwd: []string{"for=unknown"}, want: "10.0.0.1"},
		{name: "Forwarded obfuscated: the last trusted hop", trusted: trusted, peer: "10.0.0.1:1",
			fwd: []string{"for=_hidden, for=10.4.4.4"}, want: "10.4.4.4"},
		{name: "Forwarded element without for", trusted: trusted, peer: "10.0.0.1:1", fwd: []string{"proto=https"}, want: "10.0.0.1"},
		{name: "Forwarded with a quoted comma", trusted: trusted, peer: "10.0.0.1:1",
			fwd: []string{`for=198.51.100.7;ext="a,b"`}, want: "198.51.100.7"},
		{name: "unreadable peer", trusted: trusted, peer: "@", want: ""},
		{name: "peer without a port", trusted: trusted, peer: "203.0.113.5", want: "203.0.113.5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			got := tt.trusted.clientIP(r)
			gotS := ""
			if got.IsValid() {
				gotS = got.String()
			}
			if gotS != tt.want {
				t.Fatalf("clientIP = %q, want %q", gotS, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, bad := parseTrustedProxies(" 10.1.2.3/8 ,, ::1, 2001:db8::/32, nope, 1.2.3.4/33, fe80::1%eth0")
	if g, w := len(got), 3; g != w {
		t.Fatalf("parsed %v, want %d prefixes", got, w)
	}
	if g, w := got[0].String(), "10.0.0.0/8"; g != w {
		t.Errorf("first %s, want %s (masked)", g, w)
	}
	if g, w := got[1].String(), "::1/128"; g != w {
		t.Errorf("second %s, want %s", g, w)
	}
	if g, w := strings.Join(bad, "|"), "nope|1.2.3.4/33|fe80::1%eth0"; g != w {
		t.Errorf("bad %q, want %q", g, w)
	}
	if got, bad := parseTrustedProxies(""); len(got) != 0 || len(bad) != 0 {
		t.Errorf("empty: %v %v", got, bad)
	}
}
