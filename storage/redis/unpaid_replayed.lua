-- unpaid_replayed.lua: after a replayed RESERVED answer, take the retry's
-- purchase off the list when its order already stands for it.
--
-- KEYS[1] unpaid  sorted set  (see unpaid.lua)
--
-- ARGV[1] the purchase's ID ("key:<event ID>:<idempotency key>")
-- ARGV[2] the order ID the purchase's first answer reserved
--
-- Returns 1 when the purchase was taken off, 0 otherwise.
--
-- Invariant kept: a purchase is taken off only when its order is listed
-- (unpaid_written.lua ran, in one step with taking the purchase off), so
-- the order stays counted whatever presses of its key are in flight;
-- while the order is not written yet the purchase stands for it and stays.

local key = KEYS[1]
if not redis.call('ZSCORE', key, ARGV[2]) then
  return 0
end
return redis.call('ZREM', key, ARGV[1])
