-- writemark.lua: keep a user's write mark, the greatest PostgreSQL WAL
-- position of their writes (see storage/postgres/replica.go: their reads
-- go to the read replica once it has replayed past it).
--
-- KEYS[1] mark  string: 16 lowercase hex digits, the WAL position
--
-- ARGV[1] the position of the write just committed, 16 lowercase hex digits
-- ARGV[2] how long the mark must live, ms
--
-- Returns 1 when the mark moved forward (or was set), 0 when the stored
-- one was already as great.
--
-- Invariant kept: while the mark lives it never moves back (fixed-width
-- hex compares as the numbers do), and each write renews its life, so the
-- mark outlives every write of the user by the TTL at least.

local key = KEYS[1]
local cur = redis.call('GET', key)
local moved = 0
if not cur or cur < ARGV[1] then
  redis.call('SET', key, ARGV[1])
  moved = 1
end
redis.call('PEXPIRE', key, ARGV[2])
return moved
