package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	goredis "github.com/redis/go-redis/v9"
)

// reloadOnNodeLoss is a go-redis hook of a cluster client that asks it to
// reload the cluster's slots as soon as a call fails because a node is
// gone or the cluster is failing over. go-redis reloads them by itself on
// MOVED and ASK answers only, and otherwise once a minute: a dead master
// would be dialled in vain for up to a minute after its replica took over
// (measured by TestRedisClusterFailoverNeverOversells). Reloads are
// coalesced by go-redis (one at a time, 200 ms apart).
type reloadOnNodeLoss struct {
	cc *goredis.ClusterClient
}

var _ goredis.Hook = reloadOnNodeLoss{}

func (h reloadOnNodeLoss) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h reloadOnNodeLoss) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if nodeLost(err) {
			h.cc.ReloadState(ctx)
		}
		return err
	}
}

func (h reloadOnNodeLoss) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if nodeLost(cmd.Err()) {
				h.cc.ReloadState(ctx)
				break
			}
		}
		return err
	}
}

// nodeLost reports whether err says that a node could not be reached or
// that the cluster has no master for a slot: the errors after which the
// slots may have moved. Answers of a live node (goredis.Nil, a script's
// error) are not.
func nodeLost(err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		goredis.HasErrorPrefix(err, "CLUSTERDOWN")
}
