-- close.lua: close a loaded flash event for good.
--
-- KEYS[1] meta  hash (see reserve.lua)
-- ARGV    none
--
-- Returns 1 when the event was loaded and is now closed, 0 when it is not
-- loaded (nothing is written: a close must not create a meta without stock).
--
-- Invariant kept: closed never goes back to 0; stock is untouched.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'closed', '1')
return 1
