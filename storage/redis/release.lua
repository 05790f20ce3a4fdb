-- release.lua: give back the units of a cancelled or expired order, once.
--
-- KEYS[1] meta    hash  (see reserve.lua)
-- KEYS[2] held    hash  buyer ID -> units in live orders
-- KEYS[3] orders  hash  order ID -> "<units>:<buyer ID>": the orders whose
--                       units this hot stock took (reserve.lua) and has not
--                       given back
-- ARGV[1] order ID
--
-- Returns 1 when this call gave the units back, 0 otherwise.
--
-- The entry in orders is the proof that the units are still counted here:
-- release deletes it in the same step as it moves its units from
-- held[buyer] back to remaining, so a second call finds nothing (exactly
-- once), and the units and buyer come from what reserve recorded, not from
-- the caller. Without an entry nothing changes:
--   * event not loaded: the next load reads the system of record, where the
--     order is no longer live, so its units are in that remaining already.
--     Nothing is recorded either, so no left-over can act on a later load.
--   * event loaded from the system of record (after the hot stock was lost)
--     with the order in it: whether that snapshot counted the order as live
--     or already as cancelled cannot be told from here (HotEvent gives units
--     per buyer, not per order). Adding the units back could count them
--     twice and oversell; not adding them can only undersell until
--     reconciliation repairs the drift. We choose never to oversell.
--
-- Invariant kept: stock = remaining + sum(held), and held[buyer] >= 0 (a
-- field at 0 is deleted).

local meta, held, orders = KEYS[1], KEYS[2], KEYS[3]
local orderID = ARGV[1]

if redis.call('EXISTS', meta) == 0 then
  return 0
end
local entry = redis.call('HGET', orders, orderID)
if not entry then
  return 0
end
local units, buyer = string.match(entry, '^(%d+):(.*)$')
units = tonumber(units)
redis.call('HDEL', orders, orderID)
redis.call('HINCRBY', meta, 'remaining', units)
if redis.call('HINCRBY', held, buyer, -units) <= 0 then
  redis.call('HDEL', held, buyer)
end
return 1
