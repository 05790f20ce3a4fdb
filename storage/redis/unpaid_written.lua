-- unpaid_written.lua: list a written order in place of the purchase that
-- reserved it.
--
-- KEYS[1] unpaid  sorted set  (see unpaid.lua)
--
-- ARGV[1] the purchase's ID ("key:<event ID>:<idempotency key>")
-- ARGV[2] the order ID
--
-- Returns 1 when the order took the purchase's place, 0 when the purchase
-- was not listed (and nothing changed).
--
-- Invariant kept: the number listed never changes here; the order keeps
-- the purchase's window. Only a listed purchase becomes an order, so an
-- order written twice (a redelivered message) after it was paid and
-- dropped is not listed again.

local key = KEYS[1]
local score = redis.call('ZSCORE', key, ARGV[1])
if not score then
  return 0
end
redis.call('ZREM', key, ARGV[1])
redis.call('ZADD', key, score, ARGV[2])
return 1
