-- reserve.lua: one press of "buy" on a flash event, in one atomic step.
--
-- KEYS[1] meta    hash    product, seller, price, stock, remaining, limit,
--                         starts_ms, ends_ms, closed
-- KEYS[2] held    hash    buyer ID -> units in live orders
-- KEYS[3] outbox  hash    order ID -> reservation JSON (order not written yet)
-- KEYS[4] orders  hash    order ID -> "<units>:<buyer ID>": the orders whose
--                         units this hot stock took and has not given back
-- KEYS[5] idem    string  the first answer to this buyer's idempotency key
-- KEYS[6] buyers  set     the buyers ever answered RESERVED: only they can
--                         have a key whose first answer took stock, so a
--                         sold-out event's other buyers need no replay
--
-- ARGV[1] buyer ID
-- ARGV[2] quantity, an integer >= 1
-- ARGV[3] now, Unix milliseconds
-- ARGV[4] order ID of the reservation to take
-- ARGV[5] event ID
-- ARGV[6] createdAt, RFC 3339 with milliseconds
-- ARGV[7] request ID, "" for none
-- ARGV[8] idempotency key TTL of a RESERVED answer, milliseconds
-- ARGV[9] idempotency key TTL of any other answer, milliseconds (shorter:
--         a storm of sold-out presses must not fill Redis for a day)
-- ARGV[10] the idempotency key itself, carried in the reservation (with
--         the stock left after it) so that PostgreSQL keeps the answer and
--         a rebuilt hot stock can give it again (see load.lua)
--
-- Returns {duplicate, answer}. answer is JSON
-- {"outcome":..., "remaining":..., "reservation":{...}}; outcome is one of
-- RESERVED (reservation set), SOLD_OUT, LIMIT_REACHED, NOT_STARTED, ENDED,
-- CLOSED, or NOT_LOADED when meta is missing. duplicate is 1 when the
-- idempotency key was seen before: answer is then the stored first answer,
-- byte for byte, and nothing else happened. Every answer but NOT_LOADED is
-- stored under KEYS[5] with the TTL, so a key always gets its first answer.
-- Errors: ERR for a bad quantity; DUPORDER when a reservation would take an
-- order ID already reserved (in orders or outbox). Neither writes anything.
--
-- Invariants kept: remaining >= 0; held[buyer] <= limit; and
-- stock = remaining + sum(held), with orders mirroring held per order ID
-- (and outbox too, until Forget): RESERVED moves qty from remaining to
-- held[buyer], orders and outbox in the same step, and nothing else does;
-- the buyer of every RESERVED answer is in buyers.

local meta, held, outbox, orders, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local buyer = ARGV[1]
local qty = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local orderID = ARGV[4]

local first = redis.call('GET', idem)
if first then
  return {1, first}
end

if not qty or qty < 1 or qty ~= math.floor(qty) then
  return redis.error_reply('ERR reserve: quantity must be an integer >= 1')
end

local m = redis.call('HMGET', meta, 'remaining', 'limit', 'starts_ms', 'ends_ms',
  'closed', 'product', 'seller', 'price')
if not m[1] then
  return {0, cjson.encode({outcome = 'NOT_LOADED'})}
end
local remaining = tonumber(m[1])
local limit = tonumber(m[2])

-- answer stores and returns the answer; reservation, when given, is the
-- reservation's JSON (encoded once, for the outbox and the answer alike).
local function answer(outcome, rem, reservation)
  local a
  if reservation then
    a = '{"outcome":"' .. outcome .. '","remaining":' .. rem .. ',"reservation":' .. reservation .. '}'
  else
    a = '{"outcome":"' .. outcome .. '","remaining":' .. rem .. '}'
  end
  local ttl = ARGV[9]
  if reservation then
    ttl = ARGV[8]
  end
  redis.call('SET', idem, a, 'PX', ttl)
  return {0, a}
end

if m[5] == '1' then
  return answer('CLOSED', remaining)
end
if now < tonumber(m[3]) then
  return answer('NOT_STARTED', remaining)
end
if now >= tonumber(m[4]) then
  return answer('ENDED', remaining)
end
if remaining < qty then
  return answer('SOLD_OUT', remaining)
end
local has = tonumber(redis.call('HGET', held, buyer) or '0')
if has + qty > limit then
  return answer('LIMIT_REACHED', remaining)
end

if redis.call('HEXISTS', orders, orderID) == 1 or redis.call('HEXISTS', outbox, orderID) == 1 then
  return redis.error_reply('DUPORDER order ID already reserved')
end
remaining = redis.call('HINCRBY', meta, 'remaining', -qty)
redis.call('HINCRBY', held, buyer, qty)
redis.call('HSET', orders, orderID, qty .. ':' .. buyer)
redis.call('SADD', KEYS[6], buyer)
local reservation = {
  orderId = orderID,
  buyerId = buyer,
  eventId = ARGV[5],
  productId = m[6],
  sellerId = m[7],
  quantity = qty,
  unitPriceCents = tonumber(m[8]),
  createdAt = ARGV[6],
}
if ARGV[7] ~= '' then
  reservation.requestId = ARGV[7]
end
reservation.idempotencyKey = ARGV[10]
reservation.remainingAfter = remaining
local rjson = cjson.encode(reservation)
redis.call('HSET', outbox, orderID, rjson)
return answer('RESERVED', remaining, rjson)
