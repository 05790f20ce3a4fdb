package main

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are the peers whose Forwarded or X-Forwarded-For headers
// name the client (FLASHLIVE_TRUSTED_PROXIES).
type trustedProxies []netip.Prefix

// trusts reports whether ip is one of the proxies.
func (t trustedProxies) trusts(ip netip.Addr) bool {
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP returns who sent r: the TCP peer, unless the peer is a trusted
// proxy, in which case the nearest hop of the forwarding chain that is not
// a trusted proxy (read right to left: each proxy appends the hop it heard
// from). Forwarded (RFC 7239) wins over X-Forwarded-For when both are
// sent. A hop that is not an address (garbage, "unknown", an obfuscated
// name) ends the walk at the last trusted hop: nothing past it can be
// believed. A chain of nothing but trusted proxies names its first one.
// The zero Addr means the peer itself could not be read.
func (t trustedProxies) clientIP(r *http.Request) netip.Addr {
	peer := parseHop(r.RemoteAddr)
	if !peer.IsValid() || !t.trusts(peer) {
		return peer
	}
	hops, ok := forwardedFor(r.Header)
	if !ok {
		hops = xForwardedFor(r.Header)
	}
	ip := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parseHop(hops[i])
		if !hop.IsValid() {
			return ip
		}
		ip = hop
		if !t.trusts(hop) {
			return hop
		}
	}
	return ip
}

// xForwardedFor returns the hops of every X-Forwarded-For line, in order.
func xForwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// forwardedFor returns the for= parameter of every element of every
// Forwarded line, in order ("" for an element without one), and reports
// whether there was a Forwarded header at all.
func forwardedFor(h http.Header) ([]string, bool) {
	lines := h.Values("Forwarded")
	if len(lines) == 0 {
		return nil, false
	}
	var hops []string
	for _, line := range lines {
		for _, elem := range splitQuoted(line, ',') {
			hop := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					hop = strings.Trim(strings.TrimSpace(v), `"`)
					break
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops, true
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseHop reads one hop: "192.0.2.1", "192.0.2.1:80", "2001:db8::1",
// "[2001:db8::1]" or "[2001:db8::1]:80". It returns the zero Addr for
// anything else. Zones are dropped and IPv4-mapped IPv6 addresses read as
// IPv4, so that one client has one spelling.
func parseHop(s string) netip.Addr {
	if s == "" || len(s) > 64 {
		return netip.Addr{}
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.WithZone("").Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if host == s {
			return netip.Addr{}
		}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.WithZone("").Unmap()
}

// parseTrustedProxies reads a comma-separated list of CIDRs (a bare
// address is a one-address CIDR) and returns the entries it cannot read.
func parseTrustedProxies(v string) (trustedProxies, []string) {
	var out trustedProxies
	var bad []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		} else {
			bad = append(bad, s)
		}
	}
	return out, bad
}
