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
type scriptBatcher struct {
	rdb    *goredis.Client
	script *goredis.Script
	calls  chan *scriptCall
	stop   chan struct{}
	done   sync.WaitGroup
}

type scriptCall struct {
	keys  []string
	args  []any
	reply chan scriptReply // buffered: the sender never blocks on a caller
}

type scriptReply struct {
	val any
	err error
}

const (
	maxBatch     = 128
	batchQueue   = 4096
	batchTimeout = 5 * time.Second
)

func newScriptBatcher(rdb *goredis.Client, script *goredis.Script) *scriptBatcher {
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
		b.send(batch)
	}
}

// send runs one pipeline of EVALSHA calls; should Redis not know the
// script (a restart, a failover), the calls run one by one with Run, which
// loads it.
func (b *scriptBatcher) send(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
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
	c := &scriptCall{keys: keys, args: args, reply: make(chan scriptReply, 1)}
	select {
	case b.calls <- c:
	case <-b.stop:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.val, r.err
	case <-ctx.Done():
		// The call may still run; its answer is stored under the
		// idempotency key, so a retry gets it.
		return nil, ctx.Err()
	}
}

// close stops the sender after the batch in flight; calls queued behind it
// are answered with an error.
func (b *scriptBatcher) close() {
	select {
	case <-b.stop:
		return
	default:
	}
	close(b.stop)
	b.done.Wait()
	for {
		select {
		case c := <-b.calls:
			c.reply <- scriptReply{err: ErrStopped}
		default:
			return
		}
	}
}
