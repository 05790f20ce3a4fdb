// Package scaleout tests the multi-machine deployment as real processes on
// this machine: scripts/topology.sh starts a Redis Cluster, a NATS cluster,
// three flashlive instances and HAProxy in front of them (on the shared
// test PostgreSQL, in a fresh database), and the test runs a sale through
// the balancer while it kills one node after another.
package scaleout

import (
	"bufio"
	"context"
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

	goredis "github.com/redis/go-redis/v9"

	"flashlive/internal/testenv"
)

// topology is one test's own scripts/topology.sh deployment.
type topology struct {
	dir    string
	script string
	port   int    // the balancer's; the others are offsets of it
	lbURL  string // http://127.0.0.1:port
	redis  []string
	// readURL is the PostgreSQL replica's URL, "" when the topology has none.
	readURL string
}

// startTopology brings a topology up in a new directory on free ports,
// over a fresh database of the test PostgreSQL, with extra FLASHLIVE_*
// variables for the instances, and brings it down when the test ends
// (printing the tail of every log when the test failed).
func startTopology(t *testing.T, extra ...string) *topology {
	t.Helper()
	root := testenv.RepoRoot(t)
	// The database first: dropped after the topology is down (cleanups run last first).
	pg := testenv.PostgresURL(t)
	top := &topology{script: filepath.Join(root, "scripts", "topology.sh"), port: freeBase(t)}
	var err error
	if top.dir, err = os.MkdirTemp("", "flashlive-topology-"); err != nil {
		t.Fatal(err)
	}
	// The replica's PostgreSQL runs as the postgres user, who must reach
	// its directory inside this one.
	if err := os.Chmod(top.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			top.dumpLogs(t)
		}
		if out, err := top.command("down").CombinedOutput(); err != nil {
			t.Errorf("topology down: %v\n%s", err, out)
		}
		_ = os.RemoveAll(top.dir)
	})
	cmd := top.command("up")
	cmd.Env = append(cmd.Env, "FLASHLIVE_POSTGRES_URL="+pg, "FLASHLIVE_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, extra...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/topology.sh up: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "'")
		switch k {
		case "FLASHLIVE_LB_URL":
			top.lbURL = v
		case "FLASHLIVE_TOPOLOGY_READ_URL":
			top.readURL = v
		case "FLASHLIVE_TOPOLOGY_REDIS_URL":
			top.redis = strings.Split(strings.TrimPrefix(v, "redis+cluster://"), ",")
		}
	}
	if top.lbURL == "" || len(top.redis) != 6 {
		t.Fatalf("scripts/topology.sh up printed %q: want FLASHLIVE_LB_URL and a 6-node FLASHLIVE_TOPOLOGY_REDIS_URL", out)
	}
	return top
}

// command is scripts/topology.sh with args and the topology's directory
// and port, in the caller's environment minus the app's own FLASHLIVE_*
// settings (a developer's FLASHLIVE_POSTGRES_URL must not leak in).
func (top *topology) command(args ...string) *exec.Cmd {
	cmd := exec.Command(top.script, append(args, top.dir)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLASHLIVE_") || strings.HasPrefix(kv, "FLASHLIVE_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "FLASHLIVE_TOPOLOGY_PORT="+strconv.Itoa(top.port))
	return cmd
}

// dumpLogs prints the end of every log of the topology.
func (top *topology) dumpLogs(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(top.dir, "*", "*.log"))
	more, _ := filepath.Glob(filepath.Join(top.dir, "*.log"))
	for _, f := range append(logs, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("--- %s (last lines)\n%s", f, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
}

// kill9 kills the process of the pid file (relative to the topology's
// directory) with SIGKILL, as a machine lost, and waits until it is gone.
func (top *topology) kill9(t *testing.T, what, pidFile string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(top.dir, pidFile))
	if err != nil {
		t.Fatalf("kill %s: %v", what, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("kill %s: pid file %s: %v", what, pidFile, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (pid %d): %v", what, pid, err)
	}
	testenv.WaitFor(t, 10*time.Second, fmt.Sprintf("%s (pid %d) gone", what, pid), func() bool {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(raw), ") Z ")
	})
	t.Logf("kill -9 %s (pid %d)", what, pid)
}

// restartRedisNode starts the killed Redis node of port again
// (scripts/redis-cluster.sh start-node) and waits until master counts a
// replica online, as the node rejoins as its replica.
func (top *topology) restartRedisNode(t *testing.T, port, master string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(filepath.Dir(top.script), "redis-cluster.sh"), "start-node",
		filepath.Join(top.dir, "redis"), strconv.Itoa(top.port+10), port)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restart Redis node %s: %v\n%s", port, err, out)
	}
	c := goredis.NewClient(&goredis.Options{Addr: master, MaxRetries: -1})
	defer c.Close()
	testenv.WaitFor(t, 60*time.Second, "a replica of the new master "+master+" online", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := c.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "state=online")
	})
	t.Logf("Redis node %s back, a replica of %s", port, master)
}

// stopReplica stops the PostgreSQL replica (scripts/pg-replica.sh down).
func (top *topology) stopReplica(t *testing.T) {
	t.Helper()
	cmd := exec.Command(filepath.Join(filepath.Dir(top.script), "pg-replica.sh"), "down", filepath.Join(top.dir, "pg-replica"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stop the PostgreSQL replica: %v\n%s", err, out)
	}
	t.Log("stopped the PostgreSQL replica")
}

// lbAPI sends one command to HAProxy's runtime API and returns its answer.
func (top *topology) lbAPI(t *testing.T, command string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", filepath.Join(top.dir, "haproxy.sock"), 5*time.Second)
	if err != nil {
		t.Fatalf("haproxy runtime API: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, command); err != nil {
		t.Fatalf("haproxy runtime API: %v", err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// lbSessions returns the current sessions (scur) of each server of the
// flashlive backend, by name (app1..app3), and its status (UP, DOWN, ...).
func (top *topology) lbSessions(t *testing.T) (sessions map[string]int, status map[string]string) {
	t.Helper()
	sessions, status = map[string]int{}, map[string]string{}
	for _, line := range strings.Split(top.lbAPI(t, "show stat"), "\n") {
		f := strings.Split(line, ",")
		// pxname,svname,qcur,qmax,scur,...,status is field 17.
		if len(f) > 17 && f[0] == "flashlive" && strings.HasPrefix(f[1], "app") {
			sessions[f[1]], _ = strconv.Atoi(f[4])
			status[f[1]] = f[17]
		}
	}
	return sessions, status
}

// slotMaster returns the address of the Redis master that owns the slot
// of key now, with the pid file of its node, asking any node that answers.
func (top *topology) slotMaster(t *testing.T, key, not string) (addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, a := range top.redis {
		if a == not {
			continue
		}
		c := goredis.NewClient(&goredis.Options{Addr: a, MaxRetries: -1})
		slot, err := c.ClusterKeySlot(ctx, key).Result()
		nodes, err2 := c.ClusterNodes(ctx).Result()
		_ = c.Close()
		if err != nil || err2 != nil {
			continue
		}
		if m := masterOfSlot(nodes, slot); m != "" {
			return m
		}
	}
	return ""
}

// masterOfSlot reads CLUSTER NODES and returns the host:port of the
// connected master (not failed) that serves slot, "" for none.
func masterOfSlot(nodes string, slot int64) string {
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") || f[7] != "connected" {
			continue
		}
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			l, err1 := strconv.ParseInt(lo, 10, 64)
			h, err2 := strconv.ParseInt(hi, 10, 64)
			if err1 == nil && err2 == nil && l <= slot && slot <= h {
				addr, _, _ := strings.Cut(f[1], "@")
				return addr
			}
		}
	}
	return ""
}

// freeBase returns a base port P for a topology: P..P+3, P+10..P+15 (and
// their bus ports +100), P+20..P+22 (and +100, +200) and P+30 all free, drawn
// below Linux's ephemeral range so that no client socket takes one.
func freeBase(t *testing.T) int {
	t.Helper()
	var ports []int
	for i := range 4 {
		ports = append(ports, i)
	}
	for i := 10; i < 16; i++ {
		ports = append(ports, i, i+100)
	}
	for i := 20; i < 23; i++ {
		ports = append(ports, i, i+100, i+200)
	}
	ports = append(ports, 30)
	return testenv.FreePortBase(t, ports...)
}
