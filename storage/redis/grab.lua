-- grab.lua: one tap on a falling red packet, in one atomic step.
--
-- KEYS[1] meta     hash    starts_ms, ends_ms, total, packets, room, seller, expire_ms
-- KEYS[2] packets  list    "<index>:<cents>" of the packets nobody holds
-- KEYS[3] grabbed  hash    buyer ID -> grab JSON (every grab ever answered)
-- KEYS[4] outbox   hash    buyer ID -> grab JSON, until the grab writer
--                          has written it to PostgreSQL (Forget)
-- KEYS[5] idem     string  the first answer to this buyer's key, when it
--                          took no packet (a refusal), with a TTL
--
-- ARGV[1] buyer ID
-- ARGV[2] idempotency key
-- ARGV[3] now, Unix milliseconds
-- ARGV[4] grab ID for a packet taken now
-- ARGV[5] grabbedAt, RFC 3339 with milliseconds
-- ARGV[6] TTL of a refusal's answer, milliseconds
-- ARGV[7] rain ID
--
-- Returns {duplicate, answer}: answer is JSON {"outcome":..., "packetsLeft":N,
-- "grab":{...}}; outcome GRABBED (grab set), ALREADY_GRABBED (grab is the
-- buyer's packet), EMPTY, NOT_STARTED, ENDED, or NOT_LOADED when meta is
-- missing (not remembered). duplicate is 1 when the answer is a repeated
-- key's first one. Order: a buyer who holds a packet is answered first
-- (GRABBED again for the key that took it, with the first answer's
-- figures; ALREADY_GRABBED for any other key), then a refusal remembered
-- for the key, then the window, then the packets.
--
-- Invariants kept: a packet is in packets or in grabbed, never both,
-- never twice; a buyer holds at most one packet; every grab in grabbed is
-- in outbox until written; so the grabbed amounts plus the amounts left
-- are exactly total.

local meta, packets, grabbed, outbox, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local buyer, key, now = ARGV[1], ARGV[2], tonumber(ARGV[3])

local held = redis.call('HGET', grabbed, buyer)
if held then
  local rec = cjson.decode(held)
  if rec.idempotencyKey == key then
    return {1, '{"outcome":"GRABBED","packetsLeft":' .. rec.leftAfter .. ',"grab":' .. held .. '}'}
  end
  return {0, '{"outcome":"ALREADY_GRABBED","packetsLeft":' .. redis.call('LLEN', packets) .. ',"grab":' .. held .. '}'}
end

local first = redis.call('GET', idem)
if first then
  return {1, first}
end

local m = redis.call('HMGET', meta, 'starts_ms', 'ends_ms', 'expire_ms')
if not m[1] then
  return {0, '{"outcome":"NOT_LOADED","packetsLeft":0}'}
end

local function refuse(outcome)
  local a = '{"outcome":"' .. outcome .. '","packetsLeft":' .. redis.call('LLEN', packets) .. '}'
  redis.call('SET', idem, a, 'PX', ARGV[6])
  return {0, a}
end

if now < tonumber(m[1]) then
  return refuse('NOT_STARTED')
end
if now >= tonumber(m[2]) then
  return refuse('ENDED')
end
local p = redis.call('RPOP', packets)
if not p then
  return refuse('EMPTY')
end
local sep = string.find(p, ':', 1, true)
local left = redis.call('LLEN', packets)
local rec = cjson.encode({
  id = ARGV[4],
  rainId = ARGV[7],
  buyerId = buyer,
  index = tonumber(string.sub(p, 1, sep - 1)),
  amountCents = tonumber(string.sub(p, sep + 1)),
  idempotencyKey = key,
  grabbedAt = ARGV[5],
  leftAfter = left,
})
redis.call('HSET', grabbed, buyer, rec)
redis.call('HSET', outbox, buyer, rec)
redis.call('PEXPIREAT', grabbed, m[3])
redis.call('PEXPIREAT', outbox, m[3])
return {0, '{"outcome":"GRABBED","packetsLeft":' .. left .. ',"grab":' .. rec .. '}'}
