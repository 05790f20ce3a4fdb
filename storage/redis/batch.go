package redis

import (
	"context"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// scriptBatcher sends the calls of one script that arrive together in one
// pipeline: one write and one read for many buyers instead of one each.
// It never waits to fill a batch: a call that finds the sender idle goes
// at once, alone; calls that arrive while a pipeline is in flight go
// together in the next. Each caller waits at most until its context ends.
//
// It owns one goroutine, started by newScriptBatcher and stopped by close.
// Once close has begun no call is queued any more, and every call queued
// but not sent is answered with ErrStopped: none is left waiting.
type scriptBatcher struct {
	rdb    goredis.UniversalClient
	script *goredis.Script
	// replicated, when set, sends each batch with evalReplicated: every
	// reply says whether its master's replicas hold it. what names the
	// calls' answer for the buyer.
	replicated *Client
	what       string
	calls      chan *scriptCall
	stop       chan struct{} // closed when close begins
	done       sync.WaitGroup

	// mu guards stopped. A call is queued only under the read lock with
	// stopped false; close sets stopped under the write lock, so that once
	// it holds that lock no call can be queued behind its drain.
	mu        sync.RWMutex
	stopped   bool
	closeOnce sync.Once
}

type scriptCall struct {
	keys  []string
	args  []any
	reply chan scriptReply // buffered: the sender never blocks on a caller
}

type scriptReply struct {
	val any
	err error
	// unsynced, when the batcher is replicated, is nil once the
	// replicas acknowledged the call's write, else why not.
	unsynced error
}

const (
	maxBatch     = 128
	batchQueue   = 4096
	batchTimeout = 5 * time.Second
)

func newScriptBatcher(rdb goredis.UniversalClient, script *goredis.Script) *scriptBatcher {
	b := &scriptBatcher{rdb: rdb, script: script, calls: make(chan *scriptCall, batchQueue), stop: make(chan struct{})}
	b.done.Add(1)
	go b.run()
	return b
}

// run sends batches until close.
func (b *scriptBatcher) run() {
	defer b.done.Done()
	batch := make([]*scriptCall, 0, maxBatch)
	for {
		select {
		case <-b.stop:
			return
		case c := <-b.calls:
			batch = append(batch[:0], c)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		select {
		case <-b.stop:
			// Stopped while the batch was taken: it is not sent.
			for _, c := range batch {
				c.refuse()
			}
			return
		default:
		}
		b.send(batch)
	}
}

// send runs one pipeline of EVALSHA calls; should Redis not know the
// script (a restart, a failover), the calls run one by one with Run, which
// loads it. On a Redis Cluster the calls' keys may be in several slots:
// go-redis's cluster pipeline sends each call to the node of its first
// key's slot, one pipeline per node, and follows MOVED/ASK redirections
// call by call (each call's keys are in one slot, by the callers' hash
// tags).
//
// A replicated batcher sends the batch with evalReplicated instead: one
// pipeline per master, each ending with one WAIT for the whole of it.
func (b *scriptBatcher) send(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if b.replicated != nil {
		for i, r := range b.replicated.evalReplicated(ctx, b.script, batch, b.what) {
			batch[i].reply <- r
		}
		return
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*goredis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = b.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	for i, c := range batch {
		val, err := cmds[i].Result()
		if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			val, err = b.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
		}
		c.reply <- scriptReply{val: val, err: err}
	}
}

// do runs the script for keys and args in the next batch.
func (b *scriptBatcher) do(ctx context.Context, keys []string, args ...any) (any, error) {
	r := b.call(ctx, keys, args...)
	return r.val, r.err
}

// call is do with the whole reply, whether the replicas hold it included.
func (b *scriptBatcher) call(ctx context.Context, keys []string, args ...any) scriptReply {
	c := &scriptCall{keys: keys, args: args, reply: make(chan scriptReply, 1)}
	if err := b.enqueue(ctx, c); err != nil {
		return scriptReply{err: err}
	}
	select {
	case r := <-c.reply:
		return r
	case <-ctx.Done():
		// The call may still run; its answer is stored under the
		// idempotency key, so a retry gets it.
		return scriptReply{err: ctx.Err()}
	}
}

// enqueue queues c for the sender: ErrStopped once close has begun, the
// context's error if it ends while the queue is full.
func (b *scriptBatcher) enqueue(ctx context.Context, c *scriptCall) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return ErrStopped
	}
	// close closes stop before it waits for the write lock, so a call
	// blocked on a full queue gives way.
	select {
	case b.calls <- c:
		return nil
	case <-b.stop:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refuse answers c with ErrStopped.
func (c *scriptCall) refuse() {
	c.reply <- scriptReply{err: ErrStopped}
}

// close stops the sender after the batch in flight; calls queued behind it
// are answered with ErrStopped, as are calls made afterwards. It returns
// once every queued call is answered; calls to close after the first wait
// for it.
func (b *scriptBatcher) close() {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.mu.Lock()
		b.stopped = true
		b.mu.Unlock()
		b.done.Wait()
		for {
			select {
			case c := <-b.calls:
				c.refuse()
			default:
				return
			}
		}
	})
}
