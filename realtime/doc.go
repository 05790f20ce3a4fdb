// Package realtime is the live-room hub behind /ws (gorilla/websocket):
// viewers join rooms and receive what changes in them, encoded once per
// room and written straight to each viewer's socket. Listeners (the
// GraphQL subscriptions, through Hub.Listen) receive the same changes as
// typed values on a channel.
//
// # What a viewer receives
//
// On join, a snapshot of the room's flash events. Then: a countdown frame
// once a second for each event that is SCHEDULED and starts within the
// hour; a stock frame when an event's stock changes, coalesced to at most
// one per event every 100 ms (the last value is always sent: it is read
// from the stock source when the frame is built, not carried by the
// notice; a change after a quiet 100 ms goes out at once), stamped with
// the serverTime it was built at; an event frame on every status change
// (LIVE, SOLD_OUT, ENDED, CLOSED, and LIVE again when returned stock
// reopens a sold-out event); a viewers frame when the room's audience,
// summed over every instance, changes; and, on the connections of the
// buyer only, an order frame on every status change of one of their
// orders. Red-packet rains (rain.go): the snapshot lists the room's
// SCHEDULED and LIVE rains, and a rain frame comes at every status change
// of one and, while LIVE, when its packetsLeft moves, coalesced to at most
// one per rain every 100 ms (the last figure always sent). Rain notices
// from every instance are merged (statuses never go back, packetsLeft
// never grows), so notices that cross on the way never show an older
// figure after a newer. The wire format is ../shared/contract/realtime.md.
//
// # What a listener receives
//
// The same changes, minus the snapshot (a listener queries the room
// instead), each as a domain.LiveUpdate: LiveCountdown, LiveStock,
// LiveEventChanged, LiveViewers, LiveOrder, LiveRain. A listener is a member of its
// room like a viewer, counted in the room's audience. Each update is built
// with its frame, once per broadcast, from the same read: times are
// time.Time and statuses typed, so nothing is parsed on the way, and a
// status change carries the event as read for it, so nothing is read per
// listener. An order update names the order and its new status; the
// listener reads the rest of the order.
//
// # Sessions: order frames last as long as the token
//
// A viewer signs in with a token (?token= or an auth frame) and follows
// its user's orders for as long as that token's sign-in lasts: until the
// token expires, or until its session is revoked (a logout, or a refresh
// token used twice) on any instance. Then the viewer is signed out: it
// gets an error frame with code UNAUTHENTICATED, no more order frames,
// and stays in its rooms as an anonymous viewer; an auth frame with a
// fresh token signs it in again. A listener (Listen with the principal in
// its context) just stops getting order updates; a session watch
// (WatchSession: the GraphQL door, which then closes its socket with
// 4403) is ended. Expiries are found by one hub goroutine, once a second,
// in sets keyed by the second of expiry (no timer per viewer: a few
// hundred keys for 15-minute tokens, however many viewers). Revocations
// are notices on the Broker: each hub first tells Config.Revoked (so
// Authenticate refuses the session's tokens there), then signs out the
// session's members; a sign-in checks its token once more after it is
// registered, so one racing with a revocation is caught by one or the
// other.
//
// # Waiting rooms: queue frames, and what a position means
//
// A buyer in an event's waiting room gets queue frames on their own
// connections and listeners (as order frames go): on joining, on every
// status change (ADMITTED with its purchase token, EXPIRED, CLOSED), and
// when their position changes, at most once a second (queue.go). Positions
// cost one notice per event a second, not one per buyer: the instance that
// steps an event's queue broadcasts its state (the head, the lowest rank
// still waiting; the waiting count; the join number up to which waiting
// tickets were closed), and every instance derives, for each ticket it
// follows, position = rank - head + 1 (domain.QueuePosition). Ranks are
// given one by one, so that is the exact place when nobody ahead left the
// line, an upper bound by the leavers between the head and the buyer
// otherwise, corrected as the head passes them; it never grows. A ticket
// is followed from the notice of its join (joining again, which returns
// the same ticket, resumes the frames of a new connection) or from the
// start of a myQueueTicket subscription; tickets ranked by the draw at
// startsAt are read once per event and instance, together. Closing a
// queue of any size is one state broadcast: every ticket followed that
// joined up to the closed join number becomes CLOSED.
//
// # Chat
//
// With Config.Chat, a viewer's snapshot carries the room's last 20 chat
// messages, and then every message and deletion of the room comes as a
// chat or chat_deleted frame (to a listener: domain.ChatPosted and
// domain.ChatDeleted, both domain.RoomExtra), in the order of the room's
// log, which is the same on every instance: each instance reads the log
// itself (after a notice on the Broker, and every second in case one was
// lost) and sends one room's entries one at a time, under a lock per
// room that the snapshot is read under too, so a viewer gets each entry
// after its snapshot exactly once. Each entry is framed once; the sender's
// connection gets a second framing carrying the ref of its chat frame.
// Chat frames are sent by a goroutine of their own, never by the
// coalescer or the ticker, so a storm of messages holds up no stock,
// event or countdown frame; a room's new entries are read at most every
// 50 ms and written to each viewer in one write (at most 20 chat writes
// a second per viewer, however busy the chat), and the chat service's
// per-room budget bounds the messages themselves, leaving the viewers'
// sockets and the cores room for the rest. Other features' extras (the red-packet rain's) are
// domain.RoomExtra values too, broadcast to the room like any update.
//
// # Across instances
//
// Notices travel over a Broker (NATS core subjects in production): "stock
// of event E changed", "status of event E changed", "order O of buyer B
// changed", "session S of user U was revoked", and each instance's
// viewer counts. Every instance builds the frames of its own viewers from
// its own reads, so a purchase on instance A reaches a viewer on instance
// B within one coalescing period. A lost revocation notice is repaired by
// whoever implements Config.Revoked (flashlive's accounts read the
// revocations from PostgreSQL every few seconds and announce the ones
// they missed).
//
// # Ordering
//
// Frames to one viewer are written, and updates to one listener handed
// over, in the order the hub sent them. The stock and event frames of an
// event are built and sent one event change at a time (by the coalescer,
// or by the ticker that notices start and end), and a broadcast returns
// only once every viewer has its frame written or waiting, and every
// listener its update, so an older figure never overtakes a newer one;
// order frames follow the order notices arrived in. Nothing is promised
// across events. Our answer to a viewer's close frame is the last frame
// it gets: what waited before it goes first (within WriteWait), nothing
// goes after it.
//
// # Writing: one system call per viewer, no goroutine per viewer or listener
//
// A viewer has a reader goroutine, parked on the smallest stack, and no
// writer goroutine; what it reads is handled by a few hub workers (8 per
// core), so a storm of joins reads Redis and PostgreSQL a few at a time. A broadcast is
// framed once (the bytes of one WebSocket frame, the same for everyone)
// and written to each viewer's socket by the broadcasting goroutines
// themselves (a room is split over GOMAXPROCS of them), with a
// non-blocking write: the kernel takes the frame at once unless that
// viewer's socket buffer is full. Only then does the viewer get a flusher
// goroutine, which waits for the socket, writes everything waiting in one
// system call, and ends when nothing is left. The same goroutines hand a
// listener its update with a non-blocking channel send; a listener has no
// goroutine of its own (its context ending unregisters it).
//
// # Backpressure and slow viewers
//
// While a viewer's socket is backed up, up to QueueSize frames (64 by
// default) wait for it, besides the batch its flusher is writing; one
// more and it is disconnected (counted in Dropped), as is a viewer whose socket takes longer than WriteWait to
// accept what waits. So one slow phone never holds a room, a broadcast or
// the hub's memory. A listener may have QueueSize updates waiting; one
// more and it is dropped too (counted in Dropped): its channel closes, and
// what was waiting in it may still be read. A viewer that does not answer
// pings within PongWait is disconnected too. Frames from viewers are
// read with a size limit; a malformed frame gets an error frame, and a
// viewer that keeps sending them is disconnected.
package realtime
