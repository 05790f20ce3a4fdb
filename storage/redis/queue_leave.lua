-- queue_leave.lua: drop a buyer's ticket.
--
-- KEYS    the seven of queue_lib.lua
-- ARGV[1] buyer ID
--
-- Returns {1 when the ticket was a place (WAITING or ADMITTED) else 0,
-- the ticket's rank, head, waiting, shuffled, closed_seq}.
--
-- Invariant kept: the buyer is in none of pre, wait, adm, used, and has
-- no ticket; nobody else's rank changes.

local buyer = ARGV[1]
local t = tget(buyer)
local held, rank = 0, 0
if t then
  rank = t.rank
  if t.s == 'W' then
    held = 1
    redis.call('ZREM', K.wait, buyer)
    redis.call('LREM', K.pre, 0, buyer)
  elseif t.s == 'A' then
    held = 1
    redis.call('ZREM', K.adm, buyer)
    redis.call('SREM', K.used, buyer)
  end
  redis.call('HDEL', K.tk, buyer)
end
local s = state()
return {held, rank, s[1], s[2], s[3], s[4]}
