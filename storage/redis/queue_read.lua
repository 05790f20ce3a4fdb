-- queue_read.lua: read tickets and the queue's state in one step.
--
-- KEYS    the seven of queue_lib.lua
-- ARGV    buyer IDs (none: the state alone)
--
-- Returns {head, waiting, shuffled, closed_seq, then one encoded ticket
-- per buyer ("" for none)}. Changes nothing: an ADMITTED ticket past its
-- expiry is reported as it is stored, and the caller reads its expiry.

local s = state()
for _, b in ipairs(ARGV) do
  s[#s + 1] = redis.call('HGET', K.tk, b) or ''
end
return s
