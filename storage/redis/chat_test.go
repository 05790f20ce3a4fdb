package redis

import (
	"context"
	"flashlive/internal/testenv"
	"fmt"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

func TestChatLogOrderDeleteMuteTrim(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		ctx := context.Background()
		log := NewChatLog(c, 50)
		room := "room_T" + fmt.Sprint(time.Now().UnixNano())
		var wg sync.WaitGroup
		for i := range 120 {
			wg.Go(func() {
				if _, err := log.Append(ctx, domain.ChatDraft{RoomID: room, Author: domain.ChatAuthor{ID: "usr_a", DisplayName: "A"}, Text: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		all, err := log.Since(ctx, room, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 50 {
			t.Fatalf("kept %d entries, want the last 50 of 120", len(all))
		}
		for i := 1; i < len(all); i++ {
			if !domain.SeqBefore(all[i-1].Seq, all[i].Seq) {
				t.Fatalf("entries out of order: %s after %s", all[i].Seq, all[i-1].Seq)
			}
		}
		recent, last, err := log.Recent(ctx, room, 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 20 || last != all[len(all)-1].Seq || recent[19].Seq != last || recent[0].Seq != all[len(all)-20].Seq {
			t.Fatalf("Recent = %d messages ending %q (cursor %q), want the log's last 20", len(recent), recent[len(recent)-1].Seq, last)
		}

		victim := recent[10]
		if ok, err := log.Delete(ctx, room, victim.Seq); err != nil || !ok {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
		if ok, err := log.Delete(ctx, room, victim.Seq); err != nil || ok {
			t.Fatalf("second Delete = %v, %v; want false", ok, err)
		}
		after, err := log.Since(ctx, room, last, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 1 || after[0].Deleted != victim.ID || after[0].Message != nil {
			t.Fatalf("entries after the delete = %+v, want one deletion of %s", after, victim.ID)
		}
		recent2, _, err := log.Recent(ctx, room, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range recent2 {
			if m.ID == victim.ID {
				t.Fatal("deleted message still in the history")
			}
		}
		if len(recent2) != 20 {
			t.Fatalf("Recent after delete = %d messages, want 20", len(recent2))
		}

		if err := log.Mute(ctx, room, "usr_a", time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err = log.Append(ctx, domain.ChatDraft{RoomID: room, Author: domain.ChatAuthor{ID: "usr_a", DisplayName: "A"}, Text: "x"})
		if got := domain.ErrorCode(err); got != domain.EFORBIDDEN {
			t.Fatalf("muted Append: code %q (%v), want FORBIDDEN", got, err)
		}
		if _, err := log.Append(ctx, domain.ChatDraft{RoomID: room, Author: domain.ChatAuthor{ID: "usr_b", DisplayName: "B"}, Text: "y"}); err != nil {
			t.Fatalf("another author: %v", err)
		}
		if err := log.Mute(ctx, room, "usr_a", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; {
			_, err = log.Append(ctx, domain.ChatDraft{RoomID: room, Author: domain.ChatAuthor{ID: "usr_a", DisplayName: "A"}, Text: "back"})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mute never ended: %v", err)
			}
		}
	})
}
