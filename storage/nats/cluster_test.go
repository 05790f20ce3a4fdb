package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// TestOrderStreamReplicatedSurvivesNodeLoss runs the order stream with 3
// replicas on a real 3-node NATS cluster and kills (SIGKILL) the node that
// leads the stream while reservations are published: every reservation
// the stream acknowledged is handed to the order writer afterwards. A
// publish that fails is retried with the same message ID, as the outbox's
// reconciliation does, and is stored once.
func TestOrderStreamReplicatedSurvivesNodeLoss(t *testing.T) {
	cluster := testenv.StartNATSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Open(ctx, cluster.URL, "test", EmbeddedOptions{})
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	t.Cleanup(c.Close)
	c.Replicas = 3
	s, err := NewOrderStream(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("order stream: %v", err)
	}
	t.Cleanup(s.Stop)
	for _, name := range []string{OrdersStream, ParkedStream} {
		st, err := s.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.CachedInfo().Config.Replicas, 3; got != want {
			t.Fatalf("stream %s has %d replicas, want %d", name, got, want)
		}
	}

	var mu sync.Mutex
	written := map[string]int{}
	write := func(_ context.Context, rs []domain.Reservation) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			written[r.OrderID]++
		}
		return nil
	}
	if err := s.Start(write, func(context.Context, string) error { return nil }); err != nil {
		t.Fatal(err)
	}

	const total, killAt = 600, 200
	acked := make([]string, 0, total)
	retries := 0
	killed := ""
	for i := range total {
		if i == killAt {
			st, err := s.js.Stream(ctx, OrdersStream)
			if err != nil {
				t.Fatal(err)
			}
			info, err := st.Info(ctx)
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				t.Fatalf("stream leader: %+v, %v", info, err)
			}
			killed = info.Cluster.Leader
			cluster.Kill(t, killed)
		}
		r := reservation(fmt.Sprintf("ord_%04d", i))
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for {
			call, cancelCall := context.WithTimeout(ctx, 2*time.Second)
			_, err := s.js.PublishMsg(call, &nats.Msg{Subject: SubjectReserved, Data: data}, jetstream.WithMsgID(r.OrderID))
			cancelCall()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %s never acknowledged: %v", r.OrderID, err)
			}
			retries++
			select { // a publisher's back-off before the same message again
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		acked = append(acked, r.OrderID)
	}
	testenv.WaitFor(t, 2*time.Minute, "every acknowledged reservation written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range acked {
			if written[id] == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, id := range acked {
		again += written[id] - 1
	}
	if got, want := streamMsgs(t, s, OrdersStream), uint64(total); got != want {
		t.Fatalf("stream holds %d messages, want %d (each acknowledged one once)", got, want)
	}
	t.Logf("leader %s killed after %d of %d reservations; %d publish retries; all %d acknowledged reservations written (%d redelivered)",
		killed, killAt, total, retries, len(acked), again)
}
