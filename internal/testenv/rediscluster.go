package testenv

import (
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
)

// RedisClusterEnv points tests at a Redis Cluster
// (redis+cluster://h1:p1,h2:p2,...), started by `make test` with
// scripts/redis-cluster.sh.
const RedisClusterEnv = "FLASHLIVE_TEST_REDIS_CLUSTER_URL"

// RedisTarget is one Redis deployment a test runs against.
type RedisTarget struct {
	Name string // "single" or "cluster": the subtest's name
	URL  string
}

// RedisTargets returns the single test server and the test cluster. It
// fails the test when either is not configured.
func RedisTargets(t testing.TB) []RedisTarget {
	t.Helper()
	return []RedisTarget{
		{Name: "single", URL: required(t, RedisEnv)},
		{Name: "cluster", URL: required(t, RedisClusterEnv)},
	}
}

// RedisClusterURL returns the URL of the test Redis Cluster, failing the
// test when it is not configured.
func RedisClusterURL(t testing.TB) string {
	t.Helper()
	return required(t, RedisClusterEnv)
}

// EachRedis runs f once per Redis target, as a subtest named after it: the
// Redis adapter's suite must hold on one server and on a cluster alike.
func EachRedis(t *testing.T, f func(t *testing.T, target RedisTarget)) {
	t.Helper()
	for _, r := range RedisTargets(t) {
		t.Run(r.Name, func(t *testing.T) { f(t, r) })
	}
}

// RedisCluster is a Redis Cluster of one test's own (3 masters, a replica
// each), started by scripts/redis-cluster.sh on free loopback ports, whose
// nodes the test may kill without hurting any other test. Its nodes are
// stopped, and its files removed, when the test ends.
type RedisCluster struct {
	URL string // redis+cluster://127.0.0.1:p1,...
	dir string
}

// StartRedisCluster starts a cluster for the test and waits until every
// node says cluster_state:ok and every replica is linked to its master.
// The test fails when redis-server or redis-cli is missing.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	url, dir := startClusterScript(t, "private Redis Cluster", "redis-cluster.sh", 6, 100)
	return &RedisCluster{URL: url, dir: dir}
}

// RepoRoot is the directory of go.mod, above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// MasterOf returns the address (host:port) of the master that serves the
// slot of key, as the cluster sees it now.
func (c *RedisCluster) MasterOf(t testing.TB, key string) string {
	t.Helper()
	cc := c.client(t)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slot, err := cc.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatalf("slot of %s: %v", key, err)
	}
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatalf("cluster shards: %v", err)
	}
	addr := masterOf(shards, slot, "")
	if addr == "" {
		t.Fatalf("no master serves slot %d", slot)
	}
	return addr
}

// masterOf returns the address of the online master that serves slot
// among shards, other than not; "" for none.
func masterOf(shards []goredis.ClusterShard, slot int64, not string) string {
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if slot < r.Start || slot > r.End {
				continue
			}
			for _, n := range sh.Nodes {
				addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
				if n.Role == "master" && n.Health == "online" && addr != not {
					return addr
				}
			}
		}
	}
	return ""
}

// Kill kills the node at addr with SIGKILL, as a machine lost, and waits
// until its process is gone.
func (c *RedisCluster) Kill(t testing.TB, addr string) {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	killPIDFile(t, "node "+addr, filepath.Join(c.dir, port, "redis.pid"))
}

// WaitFailover waits until a surviving node says cluster_state:ok and
// that key's slot is served by a master other than gone (a replica
// promoted), and returns that master's address.
func (c *RedisCluster) WaitFailover(t testing.TB, key, gone string) string {
	t.Helper()
	var now string
	WaitFor(t, 60*time.Second, "a replica promoted for the slot of "+key, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, addr := range c.addrs() {
			if addr == gone {
				continue
			}
			n := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, MaxRetries: -1})
			info, err := n.ClusterInfo(ctx).Result()
			slot, _ := n.ClusterKeySlot(ctx, key).Result()
			shards, _ := n.ClusterShards(ctx).Result()
			_ = n.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			now = masterOf(shards, slot, gone)
			return now != ""
		}
		return false
	})
	return now
}

func (c *RedisCluster) addrs() []string {
	_, list, _ := strings.Cut(c.URL, "://")
	return strings.Split(list, ",")
}

func (c *RedisCluster) client(t testing.TB) *goredis.ClusterClient {
	t.Helper()
	return goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.addrs(), Protocol: 2})
}

// ReplicaOf returns the address of an online replica of the master at
// addr, waiting up to 30 s for the cluster to see one; the test fails
// when none comes.
func (c *RedisCluster) ReplicaOf(t testing.TB, master string) string {
	t.Helper()
	cc := c.client(t)
	defer cc.Close()
	// A replica that has just synced may not be gossiped "online" yet.
	var replica string
	WaitForCheck(t, 30*time.Second, "an online replica of "+master, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shards, err := cc.ClusterShards(ctx).Result()
		if err != nil {
			return fmt.Errorf("cluster shards: %w", err)
		}
		for _, sh := range shards {
			owns, online := false, ""
			for _, n := range sh.Nodes {
				addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
				switch {
				case addr == master && n.Role == "master":
					owns = true
				case n.Role == "replica" && n.Health == "online":
					online = addr
				}
			}
			if owns && online != "" {
				replica = online
				return nil
			}
		}
		return fmt.Errorf("master %s has no online replica", master)
	})
	return replica
}

// Pause stops the node at addr with SIGSTOP, as a machine that stops
// answering without closing its connections, until Resume (or the end of
// the test) continues it.
func (c *RedisCluster) Pause(t testing.TB, addr string) {
	t.Helper()
	pid := c.pid(t, addr)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("pause node %s (pid %d): %v", addr, pid, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

// Resume continues a node Pause stopped.
func (c *RedisCluster) Resume(t testing.TB, addr string) {
	t.Helper()
	pid := c.pid(t, addr)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatalf("resume node %s (pid %d): %v", addr, pid, err)
	}
}

// Restart starts again the node at addr that Kill killed, with its
// cluster identity (nodes.conf): it rejoins the cluster, as a replica of
// the master promoted in its place.
func (c *RedisCluster) Restart(t testing.TB, addr string) {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	_, first, _ := strings.Cut(c.addrs()[0], ":")
	path := filepath.Join(RepoRoot(t), "scripts", "redis-cluster.sh")
	if out, err := exec.Command(path, "start-node", c.dir, first, port).CombinedOutput(); err != nil {
		t.Fatalf("restart node %s: %v\n%s", addr, err, out)
	}
}

// WaitReplicated waits until the master at addr has at least one replica
// online in its replication stream (INFO replication), so that a write
// there can be acknowledged by one.
func (c *RedisCluster) WaitReplicated(t testing.TB, master string) {
	t.Helper()
	n := goredis.NewClient(&goredis.Options{Addr: master, Protocol: 2, MaxRetries: -1})
	defer n.Close()
	WaitFor(t, 60*time.Second, "a replica of "+master+" online", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := n.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "state=online")
	})
}

func (c *RedisCluster) pid(t testing.TB, addr string) int {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	raw, err := os.ReadFile(filepath.Join(c.dir, port, "redis.pid"))
	if err != nil {
		t.Fatalf("pid of node %s: %v", addr, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("pid of node %s: %v", addr, err)
	}
	return pid
}
