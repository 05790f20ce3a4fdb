package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	script := filepath.Join(repoRoot(t), "scripts", "nats-cluster.sh")
	dir, err := os.MkdirTemp("", "flashlive-nats-cluster-")
	if err != nil {
		t.Fatalf("private NATS cluster: %v", err)
	}
	c := &NATSCluster{dir: dir}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "down", dir).CombinedOutput(); err != nil {
			t.Errorf("stop private NATS cluster: %v\n%s", err, out)
		}
		_ = os.RemoveAll(dir)
	})
	first := freePortRun(t, 3, 100, 200)
	cmd := exec.Command(script, "up", dir, strconv.Itoa(first))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("private NATS cluster: %s up: %v\n%s", script, err, stderr.String())
	}
	_, url, ok := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !ok {
		t.Fatalf("private NATS cluster: %s printed %q, want an export line", script, out)
	}
	c.URL = strings.Trim(url, "'")
	return c
}

// Kill kills node (its server name, "n0".."n2") with SIGKILL, as a machine
// lost, and waits until its process is gone.
func (c *NATSCluster) Kill(t testing.TB, node string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.dir, node, "nats.pid"))
	if err != nil {
		t.Fatalf("kill NATS node %s: %v", node, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("kill NATS node %s: pid file: %v", node, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill NATS node %s (pid %d): %v", node, pid, err)
	}
	WaitFor(t, 10*time.Second, fmt.Sprintf("NATS node %s (pid %d) gone", node, pid), func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

// freePortRun returns the first of n consecutive loopback ports that are
// free, each with the ports at the given offsets free too. It draws from
// 20000-31999, below Linux's ephemeral range (32768-60999): a port there can
// be taken by any outgoing connection between this check and the node's bind.
func freePortRun(t testing.TB, n int, offsets ...int) int {
	t.Helper()
	offsets = append([]int{0}, offsets...)
	for range 50 {
		first := 20000 + int(time.Now().UnixNano()%12000)
		ok := true
		var held []net.Listener
		for p := first; p < first+n && ok; p++ {
			for _, off := range offsets {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
				if err != nil {
					ok = false
					break
				}
				held = append(held, l)
			}
		}
		for _, l := range held {
			_ = l.Close()
		}
		if ok {
			return first
		}
	}
	t.Fatalf("no %d free consecutive ports found", n)
	return 0
}
