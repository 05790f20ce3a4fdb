-- queue_lib.lua: the helpers every queue script starts with (queue.go puts
-- this file in front of each queue_*.lua). Not a script of its own.
--
-- KEYS, the same seven for every queue script, all of one event and so of
-- one hash tag {ev:<id>}:
--   KEYS[1] qmeta  hash: seq (last join number), rank (last rank given),
--                  shuffled ("1" once pre-start joiners have ranks), tick
--                  (last admission second), closed_seq (every WAITING
--                  ticket with seq <= it was CLOSED)
--   KEYS[2] tk     hash: buyer -> "S|seq|rank|joinedMs|expiresMs", S one of
--                  W(AITING) A(DMITTED) C(LOSED) E(XPIRED)
--   KEYS[3] pre    list: buyers WAITING without a rank (joined before start)
--   KEYS[4] wait   zset: buyers WAITING with a rank, scored by rank
--   KEYS[5] adm    zset: buyers ADMITTED, scored by expiresMs
--   KEYS[6] used   set: ADMITTED buyers who have bought with it
--   KEYS[7] hot    the hot stock's meta hash (reserve.lua): remaining,
--                  closed, starts_ms, ends_ms
--
-- Invariants every script keeps: a buyer is in at most one of pre, wait
-- and adm, and there exactly when its ticket says W (pre: rank 0, wait:
-- rank > 0) or A; ranks are given one by one, each once, so every rank
-- below the lowest in wait is no longer WAITING.

local K = {meta = KEYS[1], tk = KEYS[2], pre = KEYS[3], wait = KEYS[4], adm = KEYS[5], used = KEYS[6], hot = KEYS[7]}

local function num(v) return tonumber(v) or 0 end
local function fmt(n) return string.format('%.0f', n) end

local function tget(buyer)
  local v = redis.call('HGET', K.tk, buyer)
  if not v then return nil end
  local s, seq, rank, joined, exp = string.match(v, '^(%a)|(%d+)|(%d+)|(%d+)|(%d+)$')
  return {s = s, seq = tonumber(seq), rank = tonumber(rank), joined = tonumber(joined), exp = tonumber(exp)}
end

local function enc(t) return t.s .. '|' .. fmt(t.seq) .. '|' .. fmt(t.rank) .. '|' .. fmt(t.joined) .. '|' .. fmt(t.exp) end
local function tset(buyer, t) redis.call('HSET', K.tk, buyer, enc(t)) end

-- head: the lowest rank WAITING, or the next rank to give when none is.
local function head()
  local h = redis.call('ZRANGE', K.wait, 0, 0, 'WITHSCORES')
  if h[2] then return tonumber(h[2]) end
  return num(redis.call('HGET', K.meta, 'rank')) + 1
end

-- state: head, waiting, shuffled, closed_seq; what every script returns last.
local function state()
  local m = redis.call('HMGET', K.meta, 'shuffled', 'closed_seq')
  return {head(), redis.call('ZCARD', K.wait) + redis.call('LLEN', K.pre), num(m[1]), num(m[2])}
end

-- shuffle gives the pre-start joiners their ranks, in a uniformly random
-- order (Fisher-Yates), once, at or after starts.
local function shuffle(now, starts, seed)
  if now < starts or redis.call('HGET', K.meta, 'shuffled') == '1' then return end
  local l = redis.call('LRANGE', K.pre, 0, -1)
  math.randomseed(seed)
  for i = #l, 2, -1 do
    local j = math.random(i)
    l[i], l[j] = l[j], l[i]
  end
  local rank = num(redis.call('HGET', K.meta, 'rank'))
  for _, b in ipairs(l) do
    local t = tget(b)
    if t and t.s == 'W' then
      rank = rank + 1
      t.rank = rank
      tset(b, t)
      redis.call('ZADD', K.wait, rank, b)
    end
  end
  redis.call('HSET', K.meta, 'rank', fmt(rank), 'shuffled', '1')
  redis.call('DEL', K.pre)
end

-- expire turns an ADMITTED ticket past its expiry into EXPIRED.
local function expire(b, t)
  t.s = 'E'
  tset(b, t)
  redis.call('ZREM', K.adm, b)
  redis.call('SREM', K.used, b)
end
