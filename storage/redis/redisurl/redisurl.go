// Package redisurl reads the address of a Redis deployment and opens a
// go-redis client for it: one server (redis://, rediss://, unix://, as
// go-redis's ParseURL reads them) or a Redis Cluster:
//
//	redis+cluster://[user:password@]host1:port1,host2:port2,...[?options]
//	rediss+cluster://...   the same over TLS
//
// A cluster URL names some of the cluster's nodes (any one that answers is
// enough to discover the others); its options are go-redis's
// ClusterOptions in snake case (dial_timeout=3s, max_redirects=5, ...). A
// cluster has database 0 only, so the URL has no path other than "/" or
// "/0". Both kinds speak RESP2: flashlive uses no push messages, and RESP3
// makes every reply be checked for pending ones.
//
// It is a package of its own so that the Redis adapter and the test
// environment (internal/testenv, which the adapter's tests import) read
// URLs the same way without importing each other.
package redisurl

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Schemes of a Redis Cluster URL.
const (
	SchemeCluster    = "redis+cluster"
	SchemeClusterTLS = "rediss+cluster"
)

// Options is a parsed Redis URL: exactly one of Single and Cluster is set.
type Options struct {
	Single  *goredis.Options
	Cluster *goredis.ClusterOptions
}

// IsCluster reports whether the URL names a Redis Cluster.
func IsCluster(raw string) bool {
	scheme, _, _ := strings.Cut(raw, "://")
	return scheme == SchemeCluster || scheme == SchemeClusterTLS
}

// Parse reads raw. Its errors never quote a password.
func Parse(raw string) (Options, error) {
	if !IsCluster(raw) {
		opts, err := goredis.ParseURL(raw)
		if err != nil {
			return Options{}, fmt.Errorf("redis url: %w", err)
		}
		opts.Protocol = 2
		return Options{Single: opts}, nil
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	rest, query, _ := strings.Cut(rest, "?")
	rest, path, hasPath := strings.Cut(rest, "/")
	if hasPath && path != "" && path != "0" {
		return Options{}, fmt.Errorf("redis cluster url: a cluster has database 0 only, not %q", path)
	}
	user := ""
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, rest = rest[:at+1], rest[at+1:]
	}
	var addrs []string
	for _, a := range strings.Split(rest, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return Options{}, fmt.Errorf("redis cluster url: %q is not host:port", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Options{}, fmt.Errorf("redis cluster url: %q has no port between 1 and 65535", a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return Options{}, fmt.Errorf("redis cluster url: no node (want %s://host1:port1,host2:port2)", SchemeCluster)
	}
	// go-redis's own form: the first node as the host, the others as addr
	// parameters.
	plain := "redis"
	if scheme == SchemeClusterTLS {
		plain = "rediss"
	}
	var b strings.Builder
	b.WriteString(plain + "://" + user + addrs[0] + "?")
	for _, a := range addrs[1:] {
		b.WriteString("addr=" + a + "&")
	}
	b.WriteString(query)
	opts, err := goredis.ParseClusterURL(strings.TrimSuffix(b.String(), "&"))
	if err != nil {
		return Options{}, fmt.Errorf("redis cluster url: %w", err)
	}
	opts.Protocol = 2
	return Options{Cluster: opts}, nil
}

// NewClient returns a client for o: a cluster client for a cluster, a
// plain one otherwise. It does not connect until first used.
func (o Options) NewClient() goredis.UniversalClient {
	if o.Cluster != nil {
		return goredis.NewClusterClient(o.Cluster)
	}
	return goredis.NewClient(o.Single)
}
