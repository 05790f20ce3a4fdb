-- chat_delete.lua: delete one message from a room's chat and log the
-- deletion.
--
-- KEYS[1] chat  stream  the room's chat log (see chat_append.lua)
--
-- ARGV[1] the message's seq (stream ID)
-- ARGV[2] most entries kept (MAXLEN, exact: one entry trimmed per append)
--
-- Returns 1 when the message was there (it is gone, and a k=d entry
-- naming it is appended), 0 when it was not (nothing is written).
--
-- Invariant kept: a deleted message is out of the history in the same
-- step that its deletion takes its place in the room's order, so every
-- feed sees the deletion after the message, and exactly once.

local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then
  return 0
end
local fields = found[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'k' and fields[i + 1] ~= 'm' then
    return 0
  end
end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'k', 'd', 'd', ARGV[1])
return 1
