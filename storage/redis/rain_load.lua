-- rain_load.lua: puts a rain in Redis ahead of its window (preheat), or
-- rebuilds it from PostgreSQL; never over a rain already loaded.
--
-- KEYS[1] meta     hash    (see grab.lua)
-- KEYS[2] packets  list    "<index>:<cents>" of the packets nobody holds
-- KEYS[3] grabbed  hash    buyer ID -> grab JSON
--
-- ARGV[1] starts_ms  ARGV[2] ends_ms  ARGV[3] total cents  ARGV[4] packets
-- ARGV[5] room ID    ARGV[6] seller ID  ARGV[7] expire_ms (when every key goes)
-- ARGV[8] n, the grabs already written; then n pairs buyer ID, grab JSON;
-- then the packets nobody holds, "<index>:<cents>" each.
--
-- Returns 1 when it loaded the rain, 0 when it was loaded already (and
-- nothing changed).
--
-- Invariant kept: a loaded rain's packets and grabs are only ever changed
-- by grab.lua, so a preheat that runs on every instance at once, or again,
-- cannot give a packet back or twice.

local meta, packets, grabbed = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', meta) == 1 then
  return 0
end
redis.call('DEL', packets, grabbed)
local n = tonumber(ARGV[8])
local i = 9
for _ = 1, n do
  redis.call('HSET', grabbed, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local chunk = {}
for j = i, #ARGV do
  chunk[#chunk + 1] = ARGV[j]
  if #chunk == 1000 then
    redis.call('RPUSH', packets, unpack(chunk))
    chunk = {}
  end
end
if #chunk > 0 then
  redis.call('RPUSH', packets, unpack(chunk))
end
redis.call('HSET', meta, 'starts_ms', ARGV[1], 'ends_ms', ARGV[2], 'total', ARGV[3],
  'packets', ARGV[4], 'room', ARGV[5], 'seller', ARGV[6], 'expire_ms', ARGV[7])
for _, k in ipairs({meta, packets, grabbed}) do
  redis.call('PEXPIREAT', k, ARGV[7])
end
return 1
