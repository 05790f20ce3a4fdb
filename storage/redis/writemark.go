package redis

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

//go:embed writemark.lua
var writeMarkLua string

var writeMarkScript = goredis.NewScript(writeMarkLua)

// WriteMarks keeps, per user, the PostgreSQL WAL position after the
// user's last write (postgres.WriteMarks), shared by every instance:
//
//	<prefix>{user:ID}:wmark   string: 16 hex digits, expiring with its TTL
//
// so that a read served by any instance knows whether the read replica
// has replayed the reader's last write. One key per user, in its own
// slot. Safe for concurrent use.
type WriteMarks struct {
	c *Client
}

// NewWriteMarks returns the write marks kept in c.
func NewWriteMarks(c *Client) *WriteMarks { return &WriteMarks{c: c} }

func (m *WriteMarks) key(userID string) string {
	return m.c.Prefix + "{user:" + userID + "}:wmark"
}

// Mark keeps lsn as userID's mark unless the stored one is greater, and
// renews the mark's life to ttl.
func (m *WriteMarks) Mark(ctx context.Context, userID string, lsn uint64, ttl time.Duration) error {
	err := writeMarkScript.Run(ctx, m.c.RDB, []string{m.key(userID)}, fmt.Sprintf("%016x", lsn), ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("write mark: %w", err)
	}
	return nil
}

// Last returns userID's mark, 0 when there is none (no write within its
// TTL).
func (m *WriteMarks) Last(ctx context.Context, userID string) (uint64, error) {
	v, err := m.c.RDB.Get(ctx, m.key(userID)).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read write mark: %w", err)
	}
	lsn, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("write mark of %s: %w", userID, err)
	}
	return lsn, nil
}
