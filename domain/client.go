package domain

import (
	"context"
	"net/netip"
)

type clientContextKey struct{}

// NewContextWithClientIP returns a copy of ctx that carries the address of
// the client that sent the request: the TCP peer, or the nearest hop a
// trusted proxy named (see cmd/flashlive's client address rules).
func NewContextWithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientContextKey{}, ip)
}

// ClientIPFromContext returns the client address carried by ctx, and
// reports whether there is one (false outside an HTTP request).
func ClientIPFromContext(ctx context.Context) (netip.Addr, bool) {
	ip, ok := ctx.Value(clientContextKey{}).(netip.Addr)
	return ip, ok && ip.IsValid()
}

// ClientKey returns what limits and blocks count an address as: an IPv4
// address itself, an IPv6 address by its /64 (what one subscriber is
// usually given, so a client cannot step around its limits by changing
// the low bits). An IPv4-mapped IPv6 address counts as its IPv4 address.
func ClientKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
