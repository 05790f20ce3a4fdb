-- unpaid.lua: admit one more unpaid flash order of a buyer, within the cap.
--
-- KEYS[1] unpaid  sorted set  purchase ID ("key:<event>:<idempotency
--                             key>", until its order is written) or order
--                             ID -> Unix ms at which its window ends: the
--                             buyer's purchases, across events, that may
--                             still be unpaid. Its own slot ({buyer:<id>}),
--                             apart from any event's.
--
-- ARGV[1] purchase ID
-- ARGV[2] end of the order's payment window, Unix ms (> now)
-- ARGV[3] now, Unix ms
-- ARGV[4] the cap: how many orders may be listed at once, an integer >= 1
--
-- Returns 1 when the purchase is listed (now, or already before: every
-- press of one key shares its place), 0 when the buyer has the cap's
-- worth listed and it was not added.
--
-- Invariant kept: every entry listed with a window ending after now
-- counts against the cap, and the list never holds more than the cap of
-- them; entries whose window ended are dropped here, and the key expires
-- with the last window, so a buyer who stops buying leaves nothing behind.
-- The cap is never checked anywhere else: admitting and counting are one
-- step, so concurrent presses of one buyer (on any instance, any event)
-- cannot pass it together.

local key = KEYS[1]
local id = ARGV[1]
local windowEnd = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])

redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, id) then
  return 1
end
if redis.call('ZCARD', key) >= cap then
  return 0
end
redis.call('ZADD', key, windowEnd, id)
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', key, last[2])
return 1
