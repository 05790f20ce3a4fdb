-- strike.lua: one RATE_LIMITED answer to a client; too many within a
-- window block it.
--
-- KEYS[1]  string <prefix>strike:{<kind>:<value>}: strikes in the window
-- KEYS[2]  string <prefix>block:{<kind>:<value>}: "1" while blocked
-- ARGV[1]  strikes that block, ARGV[2] window ms, ARGV[3] block ms
--
-- Answers 1 when this strike blocked the client, 0 otherwise.
-- Invariant: a blocked client's block key has a TTL (it is released by
-- Redis, on every instance at once); its strikes start over once blocked.
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return 1
end
return 0
