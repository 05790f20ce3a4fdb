package redisurl

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCluster(t *testing.T) {
	o, err := Parse("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001 , 10.0.0.3:7002/0?max_redirects=5&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if o.Single != nil || o.Cluster == nil {
		t.Fatalf("Parse = %+v, want a cluster", o)
	}
	c := o.Cluster
	if got, want := c.Addrs, []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}; !slices.Equal(got, want) {
		t.Errorf("Addrs = %q, want %q", got, want)
	}
	if c.Username != "app" || c.Password != "s@cret" || c.MaxRedirects != 5 || c.DialTimeout != 2*time.Second || c.Protocol != 2 || c.TLSConfig != nil {
		t.Errorf("options = user %q password %q redirects %d dial %s protocol %d tls %v", c.Username, c.Password, c.MaxRedirects, c.DialTimeout, c.Protocol, c.TLSConfig)
	}
	tls, err := Parse("rediss+cluster://h1:7000")
	if err != nil || tls.Cluster == nil || tls.Cluster.TLSConfig == nil {
		t.Fatalf("rediss+cluster = %+v, %v; want a cluster over TLS", tls, err)
	}
}

func TestParseSingle(t *testing.T) {
	o, err := Parse("redis://:pw@127.0.0.1:6379/3")
	if err != nil {
		t.Fatal(err)
	}
	if o.Cluster != nil || o.Single == nil || o.Single.Addr != "127.0.0.1:6379" || o.Single.DB != 3 || o.Single.Protocol != 2 {
		t.Fatalf("Parse = %+v, want one server 127.0.0.1:6379 db 3 over RESP2", o.Single)
	}
}

func TestParseRefusesBadClusterURLs(t *testing.T) {
	for raw, want := range map[string]string{
		"redis+cluster://":                       "no node",
		"redis+cluster://h1:7000,,h2":            `"h2" is not host:port`,
		"redis+cluster://:7000":                  `":7000" is not host:port`,
		"redis+cluster://h1:0":                   "between 1 and 65535",
		"redis+cluster://h1:7000/1":              "database 0 only",
		"redis+cluster://u:hunter2@h1:7000?x=1":  "x",
		"redis+cluster://u:hunter2@h1:port,h2:1": `"h1:port"`,
	} {
		_, err := Parse(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", raw, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error %q quotes the password", raw, err)
		}
	}
}
