-- load.lua: put a flash event in the hot stock unless it is there already.
--
-- KEYS[1] meta    hash  product, seller, price, stock, remaining, limit,
--                       starts_ms, ends_ms, closed
-- KEYS[2] held    hash  buyer ID -> units in live orders
-- KEYS[3] orders  hash  order ID -> "<units>:<buyer ID>" (see reserve.lua)
-- KEYS[4] closed  string  set by close.lua: the event is closed whatever
--                         the source said
-- KEYS[5] buyers  set   the buyers ever answered RESERVED (see reserve.lua)
-- KEYS[6..5+k] idem  string  idempotency keys of RESERVED answers given
--                    before (see reserve.lua), one per answer below
--
-- ARGV[1..9] product, seller, price, stock, remaining, limit, starts_ms,
--            ends_ms, closed ("1" or "0")
-- ARGV[10]   n, the number of buyer entries that follow
-- ARGV[11..10+2n] buyer ID, units, ...: the units each buyer holds in live
--            orders; the caller checks that remaining + sum(units) = stock
-- ARGV[11+2n] u, the number of unpaid order entries that follow
-- ARGV[12+2n..11+2n+2u] order ID, "<units>:<buyer ID>", ...: the unpaid
--            orders among them, whose units Release may give back
-- ARGV[12+2n+2u..] answer JSON, TTL in milliseconds, buyer ID, ...: for
--            KEYS[6..], in order, the first answer to each key, how long it
--            is still to be kept, and the buyer it answered
--
-- Returns 1 when it loaded the event, 0 when meta was there already. A
-- loaded event is never overwritten: its remaining stock is the truth, and
-- a source read a moment ago may be behind it. Only closed=1 goes through,
-- because closing is irreversible.
--
-- A fresh load replaces held and orders (left-overs of a lost meta would
-- count units twice) with the source's. It keeps outbox and idempotency
-- keys: they stand for answers already given; the answers passed in are
-- set only where their key is missing. It adds the buyers holding units
-- and those of the answers to buyers, which only ever grows.
--
-- Invariants kept: stock = remaining + sum(held) from the first write on;
-- an idempotency key that was answered RESERVED keeps that answer across
-- a loss of Redis's data, so it never buys twice; its buyer is in buyers.

local meta, held, orders = KEYS[1], KEYS[2], KEYS[3]
local closed = ARGV[9]
if redis.call('EXISTS', KEYS[4]) == 1 then
  closed = '1'
end

if redis.call('EXISTS', meta) == 1 then
  if closed == '1' then
    redis.call('HSET', meta, 'closed', '1')
  end
  return 0
end

redis.call('DEL', held, orders)
local n = tonumber(ARGV[10])
for i = 11, 10 + 2 * n, 2 do
  redis.call('HSET', held, ARGV[i], ARGV[i + 1])
  redis.call('SADD', KEYS[5], ARGV[i])
end
local u = tonumber(ARGV[11 + 2 * n])
local first = 12 + 2 * n
for i = first, first + 2 * u - 1, 2 do
  redis.call('HSET', orders, ARGV[i], ARGV[i + 1])
end
local a = first + 2 * u
for j = 6, #KEYS do
  redis.call('SET', KEYS[j], ARGV[a], 'PX', ARGV[a + 1], 'NX')
  redis.call('SADD', KEYS[5], ARGV[a + 2])
  a = a + 3
end
redis.call('HSET', meta,
  'product', ARGV[1], 'seller', ARGV[2], 'price', ARGV[3], 'stock', ARGV[4],
  'remaining', ARGV[5], 'limit', ARGV[6], 'starts_ms', ARGV[7],
  'ends_ms', ARGV[8], 'closed', closed)
return 1
