-- gcra.lua: charge one request to a key's rate, by the generic cell rate
-- algorithm, on the Redis server's clock (so that every instance shares
-- one clock and one budget per key).
--
-- KEYS[1] tat  string  the key's theoretical arrival time, microseconds
--                      since the Unix epoch; it expires when it falls
--                      behind the clock (a key at rest leaves nothing)
--
-- ARGV[1] interval: microseconds per request at the steady rate
--         (period / rate), an integer >= 1
-- ARGV[2] burst: requests that may come at once from rest, an integer >= 1
--
-- Returns 0 when the request is allowed (and charged), otherwise the
-- microseconds until one would be (a refused request is not charged).
--
-- Invariant kept: over any span of time t, no more than
-- burst + t / interval requests of one key are allowed, across every
-- caller; charging and checking are one step, so concurrent callers cannot
-- pass it together.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local next_tat = tat + interval
local allow_at = next_tat - burst * interval
if now < allow_at then
  return allow_at - now
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
