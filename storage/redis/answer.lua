-- answer.lua: the first answer kept under a buyer's idempotency key, and
-- whether the event is loaded, read in one atomic step (one slot), so
-- that a Load restoring the key cannot fall between the two reads.
--
-- KEYS[1] idem  string  the first answer to the key (reserve.lua keeps it)
-- KEYS[2] meta  hash    the event's hot state; present while it is loaded
--
-- Returns {1, answer} when an answer is kept (answer is reserve.lua's
-- JSON, byte for byte), {0, loaded} otherwise (loaded 1 or 0).
-- Writes nothing: what reserve.lua would replay for the key is exactly
-- what this returns.
local kept = redis.call('GET', KEYS[1])
if kept then
  return {1, kept}
end
return {0, redis.call('EXISTS', KEYS[2])}
