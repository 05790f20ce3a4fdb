package testenv

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// NATSCluster is a NATS cluster of one test's own: 3 nats-server nodes
// with JetStream and routes, started by scripts/nats-cluster.sh (which
// builds the binary from the pinned Go module) on free loopback ports. The
// test may kill its nodes; they are stopped, and their files removed, when
// the test ends.
type NATSCluster struct {
	URL string // nats://127.0.0.1:p0,nats://127.0.0.1:p1,nats://127.0.0.1:p2
	dir string
}

// StartNATSCluster starts a cluster for the test and waits until every
// node is healthy with JetStream and the cluster has a meta leader.
func StartNATSCluster(t testing.TB) *NATSCluster {
	t.Helper()
	url, dir := startClusterScript(t, "private NATS cluster", "nats-cluster.sh", 3, 100, 200)
	return &NATSCluster{URL: url, dir: dir}
}

// Kill kills node (its server name, "n0".."n2") with SIGKILL, as a machine
// lost, and waits until its process is gone.
func (c *NATSCluster) Kill(t testing.TB, node string) {
	t.Helper()
	killPIDFile(t, "NATS node "+node, filepath.Join(c.dir, node, "nats.pid"))
}

// freePortRun returns the first of n consecutive loopback ports that are
// free, each with the ports at the given offsets free too.
func freePortRun(t testing.TB, n int, offsets ...int) int {
	t.Helper()
	var all []int
	for p := range n {
		all = append(all, p)
		for _, off := range offsets {
			all = append(all, p+off)
		}
	}
	return FreePortBase(t, all...)
}

// FreePortBase returns a loopback port P such that P+off is free for
// every given offset (P itself only when 0 is among them). It draws from
// 20000-31999, below Linux's ephemeral range (32768-60999): a port there can
// be taken by any outgoing connection between this check and the bind.
func FreePortBase(t testing.TB, offsets ...int) int {
	t.Helper()
	for range 50 {
		base := 20000 + int(time.Now().UnixNano()%12000)
		ok := true
		var held []net.Listener
		for _, off := range offsets {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			_ = l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no free loopback ports at offsets %v of any base tried", offsets)
	return 0
}
