// Package realtime will hold the live-room hub behind /ws and the GraphQL
// subscriptions (gorilla/websocket): rooms, encode-once fan-out, bounded
// per-viewer queues and the slow-viewer policy. It has no code yet; the
// realtime issue builds it.
package realtime
