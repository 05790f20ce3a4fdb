-- queue_join.lua: join a buyer to an event's queue, or return the ticket
-- they hold.
--
-- KEYS    the seven of queue_lib.lua
-- ARGV[1] buyer ID
-- ARGV[2] now, unix ms
-- ARGV[3] the event's startsAt, unix ms
-- ARGV[4] a random seed, should this join be the first after the start
--         and so draw the pre-start joiners' order
--
-- Returns {encoded ticket, fresh (1: a new ticket), head, waiting,
-- shuffled, closed_seq}.
--
-- Invariant kept: one held (W or A) ticket per buyer; a new ticket gets
-- the next join number, and after the start the next rank (FIFO behind
-- every earlier one); before the start no rank (shuffle draws it).

local buyer, now, starts, seed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
shuffle(now, starts, seed)
local t = tget(buyer)
if t and t.s == 'A' and t.exp <= now then expire(buyer, t) end
local fresh = 0
if not (t and (t.s == 'W' or t.s == 'A')) then
  t = {s = 'W', seq = redis.call('HINCRBY', K.meta, 'seq', 1), rank = 0, joined = now, exp = 0}
  if now < starts then
    redis.call('RPUSH', K.pre, buyer)
  else
    t.rank = redis.call('HINCRBY', K.meta, 'rank', 1)
    redis.call('ZADD', K.wait, t.rank, buyer)
  end
  tset(buyer, t)
  fresh = 1
end
local s = state()
return {enc(t), fresh, s[1], s[2], s[3], s[4]}
