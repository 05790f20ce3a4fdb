package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// Replicated writes.
//
// A RESERVED or GRABBED answer is given only once the write behind it is
// held by Client.MinReplicas replicas of the master that made it, as Redis's
// WAIT reports them: the script calls that go to one master are sent in one
// pipeline on one connection, followed by a small write to a key of the
// same master (so that the connection's replication offset is at least that
// of every answer read, a replayed one included, even one first written on
// another connection) and one WAIT, which covers the whole pipeline. With
// MinReplicas 0 none of this happens: one server's memory holds the answer,
// as in single-node dev.

// DefaultReplicaTimeout is how long a write waits for its replicas when
// Client.ReplicaTimeout is not set.
const DefaultReplicaTimeout = 250 * time.Millisecond

// MaxReplicaTimeout bounds Client.ReplicaTimeout: below go-redis's
// default read timeout (3s), so that a pipeline's read never gives up
// before its WAIT answers.
const MaxReplicaTimeout = 2 * time.Second

// syncTTL is how long a master's sync key lives after its last write.
const syncTTL = time.Minute

// ErrNotReplicated is wrapped by the error of a call whose write fewer than
// Client.MinReplicas replicas acknowledged in time. The write happened on
// the master: a retry with the same idempotency key gets its answer once
// the replicas hold it.
var ErrNotReplicated = errors.New("write not acknowledged by enough replicas")

// notReplicated is the error of an answer not yet held by enough
// replicas: UNAVAILABLE to the buyer (the domain error), with its cause
// for the logs.
type notReplicated struct {
	public *domain.Error
	cause  string
}

func (e *notReplicated) Error() string {
	return e.public.Message + ": " + e.cause
}

func (e *notReplicated) Unwrap() []error { return []error{e.public, ErrNotReplicated} }

// replicaRetry is the wait asked of a client told its answer is not yet
// replicated.
const replicaRetry = 500 * time.Millisecond

func (c *Client) notReplicated(what, cause string) error {
	return &notReplicated{
		public: domain.Retry(domain.EUNAVAILABLE, replicaRetry,
			"your %s was taken but is not yet safely stored; retry with the same idempotency key to get its answer", what),
		cause: cause,
	}
}

// replicated reports whether writes must reach replicas before answers
// are given.
func (c *Client) replicated() bool { return c.MinReplicas > 0 }

func (c *Client) replicaTimeout() time.Duration {
	if c.ReplicaTimeout <= 0 {
		return DefaultReplicaTimeout
	}
	return min(c.ReplicaTimeout, MaxReplicaTimeout)
}

// syncKey is the key of the sync write for the slot of key: key up to and
// including its hash tag, then ":replicated", so in key's slot.
func syncKey(key string) string {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			return key[:open+1+end+1] + ":replicated"
		}
	}
	return key + ":replicated"
}

// replicaCheck is the outcome of one sync write and WAIT.
type replicaCheck struct {
	set  *goredis.StatusCmd
	wait *goredis.Cmd
}

// appendWait adds the sync write for key's slot and WAIT to p.
func (c *Client) appendWait(ctx context.Context, p goredis.Pipeliner, key string) replicaCheck {
	t := c.replicaTimeout()
	// WAIT by Do: Pipeliner has no Wait. The pipeline's read timeout
	// (go-redis's ReadTimeout, 3s by default) outlasts t (MaxReplicaTimeout).
	return replicaCheck{set: p.Set(ctx, syncKey(key), "1", syncTTL), wait: p.Do(ctx, "wait", c.MinReplicas, t.Milliseconds())}
}

// result is nil when the replicas acknowledged, else the error (what
// names the answer for the client).
func (c *Client) result(rc replicaCheck, node, what string) error {
	if err := rc.set.Err(); err != nil {
		return c.notReplicated(what, fmt.Sprintf("sync write on %s: %v", node, err))
	}
	n, err := rc.wait.Int64()
	if err != nil {
		return c.notReplicated(what, fmt.Sprintf("WAIT on %s: %v", node, err))
	}
	if int(n) < c.MinReplicas {
		return c.notReplicated(what, fmt.Sprintf("%d of %d replicas of %s acknowledged within %s", n, c.MinReplicas, node, c.replicaTimeout()))
	}
	return nil
}

// master returns the client of the master that serves key's slot: the
// node of a cluster, the one server otherwise.
func (c *Client) master(ctx context.Context, key string) (goredis.UniversalClient, string, error) {
	cc, ok := c.RDB.(*goredis.ClusterClient)
	if !ok {
		return c.RDB, "redis", nil
	}
	m, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, "", err
	}
	return m, m.Options().Addr, nil
}

// reloadOn asks a cluster client to reload its slots after err, when err
// says a node is gone or a slot moved: the node clients used here, unlike
// the cluster client, follow no redirection and carry no hook.
func (c *Client) reloadOn(ctx context.Context, err error) {
	cc, ok := c.RDB.(*goredis.ClusterClient)
	if ok && (nodeLost(err) || movedOrAsk(err)) {
		cc.ReloadState(ctx)
	}
}

func movedOrAsk(err error) bool {
	return err != nil && (goredis.HasErrorPrefix(err, "MOVED") || goredis.HasErrorPrefix(err, "ASK") ||
		goredis.HasErrorPrefix(err, "TRYAGAIN") || goredis.HasErrorPrefix(err, "READONLY"))
}

// confirm tells whether the answer that check reads (it adds a read to
// the pipeline and returns how to tell, once sent, whether the answer is
// there, such as EXISTS of the kept answer) is held by MinReplicas
// replicas of the master of key's slot now: check, the sync write and
// WAIT go in one pipeline to that master. Nil when it is.
func (c *Client) confirm(ctx context.Context, key, what string, check func(p goredis.Pipeliner) func() (bool, error)) error {
	m, node, err := c.master(ctx, key)
	if err != nil {
		return c.notReplicated(what, fmt.Sprintf("master of %s: %v", key, err))
	}
	p := m.Pipeline()
	held := check(p)
	rc := c.appendWait(ctx, p, key)
	_, _ = p.Exec(ctx) // errors are per command
	there, err := held()
	if err != nil {
		c.reloadOn(ctx, err)
		return c.notReplicated(what, fmt.Sprintf("read on %s: %v", node, err))
	}
	if !there {
		return c.notReplicated(what, fmt.Sprintf("the answer is no longer on %s (a failover lost it)", node))
	}
	return c.result(rc, node, what)
}

// evalReplicated runs script for each call on the master of its first
// key's slot: one pipeline per master, the masters in parallel, each
// ending with a sync write and WAIT. Each reply carries the script's
// answer and, in unsynced, whether the replicas acknowledged it (what
// names the answer in the error). A call refused for a moved slot, a lost
// node or an unknown script is sent once more, by its source, after the
// cluster's slots are reloaded, and fails UNAVAILABLE if refused again;
// it returns once every call is answered.
func (c *Client) evalReplicated(ctx context.Context, script *goredis.Script, calls []*scriptCall, what string) []scriptReply {
	replies := make([]scriptReply, len(calls))
	todo := make([]int, len(calls))
	for i := range calls {
		todo[i] = i
	}
	for round := range 2 {
		todo = c.evalRound(ctx, script, calls, todo, replies, round > 0, what)
		if len(todo) == 0 {
			break
		}
	}
	for _, i := range todo {
		// Still a moved slot or a lost node: failing over. The call may
		// have run; the same key gets its answer.
		replies[i].err = fmt.Errorf("%w: %w", domain.Retry(domain.EUNAVAILABLE, replicaRetry,
			"the store is failing over; retry with the same idempotency key"), replies[i].err)
	}
	return replies
}

// evalRound sends the calls of todo, grouped by master, and returns those
// to send again (their replies hold the error meanwhile).
func (c *Client) evalRound(ctx context.Context, script *goredis.Script, calls []*scriptCall, todo []int, replies []scriptReply, bySource bool, what string) []int {
	type group struct {
		m    goredis.UniversalClient
		node string
		idx  []int
	}
	groups := map[string]*group{}
	for _, i := range todo {
		m, node, err := c.master(ctx, calls[i].keys[0])
		if err != nil {
			replies[i] = scriptReply{err: fmt.Errorf("master of %s: %w", calls[i].keys[0], err)}
			continue
		}
		g := groups[node]
		if g == nil {
			g = &group{m: m, node: node}
			groups[node] = g
		}
		g.idx = append(g.idx, i)
	}
	var (
		mu    sync.Mutex
		again []int
		wg    sync.WaitGroup
	)
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := g.m.Pipeline()
			cmds := make([]*goredis.Cmd, len(g.idx))
			for j, i := range g.idx {
				if bySource {
					cmds[j] = script.Eval(ctx, p, calls[i].keys, calls[i].args...)
				} else {
					cmds[j] = script.EvalSha(ctx, p, calls[i].keys, calls[i].args...)
				}
			}
			rc := c.appendWait(ctx, p, calls[g.idx[0]].keys[0])
			_, _ = p.Exec(ctx) // errors are per command
			synced := c.result(rc, g.node, what)
			for j, i := range g.idx {
				val, err := cmds[j].Result()
				if goredis.HasErrorPrefix(err, "NOSCRIPT") || nodeLost(err) || movedOrAsk(err) {
					c.reloadOn(ctx, err)
					mu.Lock()
					again = append(again, i)
					mu.Unlock()
				}
				replies[i] = scriptReply{val: val, err: err, unsynced: synced}
			}
		}()
	}
	wg.Wait()
	return again
}
