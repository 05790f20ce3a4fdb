// Package realtime is the live-room hub behind /ws (gorilla/websocket):
// viewers join rooms and receive what changes in them, encoded once per
// room and written to each viewer by that viewer's own writer.
//
// # What a viewer receives
//
// On join, a snapshot of the room's flash events. Then: a countdown frame
// once a second for each event that is SCHEDULED and starts within the hour;
// a stock frame when an event's stock changes, coalesced to at most one per
// event every 100 ms (the last value is always sent: it is read from the
// stock source when the frame is built, not carried by the notice; a lone
// change goes out within about 40 ms); an
// event frame on every status change (LIVE, SOLD_OUT, ENDED, CLOSED, and
// LIVE again when returned stock reopens a sold-out event); a viewers frame
// when the room's audience, summed over every instance, changes; and, on
// the connections of the buyer only, an order frame on every status change
// of one of their orders. The wire format is ../shared/contract/realtime.md.
//
// # Across instances
//
// Notices travel over a Broker (NATS core subjects in production): "stock
// of event E changed", "status of event E changed", "order O of buyer B
// changed", and each instance's viewer counts. Every instance builds the
// frames of its own viewers from its own reads, so a purchase on instance A
// reaches a viewer on instance B within one coalescing period.
//
// # Ordering
//
// Frames to one viewer are written in the order the hub queued them. The
// stock and event frames of one event are built by one goroutine (the
// coalescer), in that order; order frames follow the order notices arrived
// in. Nothing is promised across events.
//
// # Backpressure and slow viewers
//
// Each viewer has a queue of QueueSize frames (64 by default). Queuing never blocks: a
// viewer whose queue is full is disconnected (counted in Dropped), so one
// slow phone never holds a room or the hub's memory. A viewer that does
// not answer pings within PongWait is disconnected too. Frames from
// viewers are read with a size limit; a malformed frame gets an error
// frame, and a viewer that keeps sending them is disconnected.
package realtime
