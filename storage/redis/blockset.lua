-- blockset.lua: an ADMIN's block or release of one client, published to
-- the block feed in the same step.
--
-- KEYS[1]  string <prefix>block:{<kind>:<value>}: "1" while blocked
-- KEYS[2]  string <prefix>strike:{<kind>:<value>}: strikes in the window
-- ARGV[1]  block ms; 0 releases the client and forgets its strikes
-- ARGV[2]  the block feed's channel; ARGV[3] "<KIND>|" and ARGV[4]
--          "|<value>", the two ends of the message
--          "<KIND>|<block ms>|<value>" (0 ms: released; blockfeed.go)
--
-- Answers 1 when the client is now blocked, or was blocked before its
-- release; 0 for the release of a client that was not blocked.
-- Invariant: every block key has a TTL, and every change to one is
-- published with it, so no watcher that is listening misses one.
local ms = tonumber(ARGV[1])
local msg = ARGV[3] .. ARGV[1] .. ARGV[4]
if ms > 0 then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
  redis.call('PUBLISH', ARGV[2], msg)
  return 1
end
local gone = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[2], msg)
return gone
