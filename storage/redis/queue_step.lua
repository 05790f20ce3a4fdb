-- queue_step.lua: one second of an event's queue, once across every
-- instance: expire admissions past their time, draw the pre-start order at
-- the start, then close the queue (sold out, ended, closed) or admit from
-- its head.
--
-- KEYS    the seven of queue_lib.lua
-- ARGV[1] now, unix ms
-- ARGV[2] the second this step is for (unix s); a step for a second not
--         after the last one done does nothing
-- ARGV[3] admissions per second at most
-- ARGV[4] an admission's life, ms
-- ARGV[5] a random seed for the shuffle
--
-- Returns {0} when this second's step was done already, {-1} when the
-- event is not in the hot stock, else {1, closed count, head, waiting,
-- shuffled, closed_seq, n expired, n admitted, then buyer and encoded
-- ticket of each expired, then of each admitted}.
--
-- Invariants kept: those of queue_lib.lua; an admission goes to the
-- lowest rank WAITING; admitted-and-unused never exceeds the units left
-- (domain.AdmitBudget) nor ARGV[3] a second; once the event cannot sell
-- (closed, ended, or started with nothing left) no ticket stays WAITING.

local now, tick, per, ttl, seed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if num(redis.call('HGET', K.meta, 'tick')) >= tick then return {0} end
local hot = redis.call('HMGET', K.hot, 'remaining', 'closed', 'starts_ms', 'ends_ms')
if not hot[1] then return {-1} end
redis.call('HSET', K.meta, 'tick', fmt(tick))
local remaining, closed, starts, ends = tonumber(hot[1]), hot[2] == '1', tonumber(hot[3]), tonumber(hot[4])

local expired = {}
for _, b in ipairs(redis.call('ZRANGEBYSCORE', K.adm, '-inf', now)) do
  local t = tget(b)
  if t and t.s == 'A' then
    expire(b, t)
    expired[#expired + 1] = b
    expired[#expired + 1] = enc(t)
  else
    redis.call('ZREM', K.adm, b)
    redis.call('SREM', K.used, b)
  end
end

shuffle(now, starts, seed)
local shut = closed or now >= ends or (now >= starts and remaining <= 0)
local admitted, nclosed = {}, 0
if shut then
  local function closeAll(list)
    for _, b in ipairs(list) do
      local t = tget(b)
      if t and t.s == 'W' then
        t.s = 'C'
        tset(b, t)
        nclosed = nclosed + 1
      end
    end
  end
  closeAll(redis.call('ZRANGE', K.wait, 0, -1))
  closeAll(redis.call('LRANGE', K.pre, 0, -1))
  redis.call('DEL', K.wait, K.pre)
  if nclosed > 0 then
    redis.call('HSET', K.meta, 'closed_seq', redis.call('HGET', K.meta, 'seq'))
  end
elseif now >= starts then
  local outstanding = redis.call('ZCARD', K.adm) - redis.call('SCARD', K.used)
  local k = math.min(per, remaining - outstanding)
  if k > 0 then
    local popped = redis.call('ZPOPMIN', K.wait, k)
    for i = 1, #popped, 2 do
      local b = popped[i]
      local t = tget(b)
      if t then
        t.s = 'A'
        t.exp = now + ttl
        tset(b, t)
        redis.call('ZADD', K.adm, t.exp, b)
        admitted[#admitted + 1] = b
        admitted[#admitted + 1] = enc(t)
      end
    end
  end
end

local s = state()
local out = {1, nclosed, s[1], s[2], s[3], s[4], #expired / 2, #admitted / 2}
for _, v in ipairs(expired) do out[#out + 1] = v end
for _, v in ipairs(admitted) do out[#out + 1] = v end
return out
