-- chat_append.lua: append one message to a room's chat, unless its author
-- is muted there.
--
-- KEYS[1] chat   stream  the room's chat log ({room:<id>}): entries with
--                        k=m (a message: a author ID, n display name,
--                        t text, o origin connection, r its ref) or k=d
--                        (d the seq of a deleted message)
-- KEYS[2] mute   string  present while the author is muted in the room
--                        (expires with the mute); same slot
--
-- ARGV[1] most entries kept (MAXLEN, exact: one entry trimmed per append)
-- ARGV[2] author ID   ARGV[3] display name   ARGV[4] text
-- ARGV[5] origin      ARGV[6] ref
--
-- Returns {1, seq} when appended, {0, ms} when the author is muted for
-- ms more milliseconds.
--
-- Invariant kept: the stream's IDs are the room's one order, given by
-- this single XADD; a muted author never gets an entry in, because the
-- mute is checked in the same step that appends.

local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 or ttl == -1 then
  return {0, ttl}
end
local seq = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*',
  'k', 'm', 'a', ARGV[2], 'n', ARGV[3], 't', ARGV[4], 'o', ARGV[5], 'r', ARGV[6])
return {1, seq}
