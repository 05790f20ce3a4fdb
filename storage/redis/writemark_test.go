package redis

import (
	"context"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// TestWriteMarksKeepTheGreatest proves a user's write mark never moves
// back (whichever instance marks last), is per user, and is forgotten
// after its TTL.
func TestWriteMarksKeepTheGreatest(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		m := NewWriteMarks(openTestClient(t, target))
		for _, lsn := range []uint64{0x1_0000_0005, 0xff_0000_0009, 0x2_0000_0007} {
			if err := m.Mark(ctx, "usr_a", lsn, time.Hour); err != nil {
				t.Fatalf("Mark: %v", err)
			}
		}
		if got, err := m.Last(ctx, "usr_a"); err != nil || got != 0xff_0000_0009 {
			t.Fatalf("Last = %#x, %v; want 0xff00000009", got, err)
		}
		if got, err := m.Last(ctx, "usr_b"); err != nil || got != 0 {
			t.Fatalf("Last of a user without writes = %d, %v; want 0", got, err)
		}
		if err := m.Mark(ctx, "usr_c", 4, 50*time.Millisecond); err != nil {
			t.Fatalf("Mark: %v", err)
		}
		testenv.WaitFor(t, 5*time.Second, "an expired mark forgotten", func() bool {
			got, err := m.Last(ctx, "usr_c")
			return err == nil && got == 0
		})
	})
}
