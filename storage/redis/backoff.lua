-- backoff.lua: the growing wait after failures of one key (wrong passwords).
--
-- KEYS[1]  hash <prefix>fail:{<key>}: n (failures so far), until_ms (no
--          attempt before this server time)
-- ARGV[1]  "wait" or "fail"
-- for "fail": ARGV[2] free failures, ARGV[3] first wait ms, ARGV[4] longest
--          wait ms, ARGV[5] how long the failures are remembered, ms
--
-- Answers: "wait": the milliseconds still to wait (0: may try now);
--          "fail": the failures counted so far.
-- Invariant: from the free-th failure on, the n-th one sets until_ms to
-- now + min(first * 2^(n-free), longest); the key lives window ms after
-- its last failure, so an idle key starts over.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'wait' then
  local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until_ms') or '0')
  if untilMs > now then return untilMs - now end
  return 0
end
local free, first, longest, window = math.max(tonumber(ARGV[2]), 1), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n >= free then
  local wait = first * 2 ^ math.min(n - free, 40)
  if wait > longest then wait = longest end
  redis.call('HSET', KEYS[1], 'until_ms', math.floor(now + wait))
end
redis.call('PEXPIRE', KEYS[1], math.max(window, longest))
return n
