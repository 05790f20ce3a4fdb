-- queue_use.lua: a purchase asks whether its buyer is admitted.
--
-- KEYS    the seven of queue_lib.lua
-- ARGV[1] buyer ID
-- ARGV[2] now, unix ms
--
-- Returns 1 when the buyer holds an ADMITTED ticket not past its expiry
-- (and marks it used), else 0.
--
-- Invariant kept: used holds only buyers in adm; a used admission stops
-- counting as outstanding (queue_step.lua), so that the queue admits for
-- the units still unclaimed.

local t = tget(ARGV[1])
if t and t.s == 'A' and t.exp > tonumber(ARGV[2]) then
  redis.call('SADD', K.used, ARGV[1])
  return 1
end
return 0
