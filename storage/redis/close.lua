-- close.lua: close a flash event for good.
--
-- KEYS[1] meta    hash (see reserve.lua)
-- KEYS[2] closed  string: "1" once the event is closed, loaded or not
-- ARGV    none
--
-- Returns 1 when the event was loaded and is now closed, 0 when it is not
-- loaded. Either way the closed marker is set, so that a load racing the
-- close (its source read a moment before the close) still loads the event
-- closed; a close never creates a meta without stock.
--
-- Invariant kept: closed never goes back to 0; stock is untouched.

redis.call('SET', KEYS[2], '1')
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'closed', '1')
return 1
