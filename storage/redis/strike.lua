-- strike.lua: one RATE_LIMITED answer to a client; too many within a
-- window block it.
--
-- KEYS[1]  string <prefix>strike:{<kind>:<value>}: strikes in the window
-- KEYS[2]  string <prefix>block:{<kind>:<value>}: "1" while blocked
-- ARGV[1]  strikes that block, ARGV[2] window ms, ARGV[3] block ms
-- ARGV[4]  the block feed's channel; ARGV[5] "<KIND>|" and ARGV[6] "|<value>",
--          the two ends of its message: a block is published as
--          "<KIND>|<block ms>|<value>" (blockfeed.go)
--
-- Answers 1 when this strike blocked the client, 0 otherwise.
-- Invariant: a blocked client's block key has a TTL (it is released by
-- Redis, on every instance at once); its strikes start over once blocked;
-- every block is published in the same step that sets it, so no watcher
-- that is listening misses one.
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('PUBLISH', ARGV[4], ARGV[5] .. ARGV[3] .. ARGV[6])
  return 1
end
return 0
