package realtime

import (
	"context"
	"strings"

	"flashlive/domain"
)

// Listen subscribes, until ctx ends, to the frames a viewer would get:
// those of roomID (none when "") and the order frames of userID (none when
// ""). Frames are the JSON of the /ws contract. The channel closes when
// ctx ends, when the hub closes, or when the listener falls QueueSize
// frames behind (a slow listener is dropped, as a slow viewer is).
// NOT_FOUND for an unknown room.
func (h *Hub) Listen(ctx context.Context, roomID, userID string) (<-chan []byte, error) {
	c := &client{
		hub:   h,
		fd:    -1,
		queue: make(chan *message, h.cfg.QueueSize),
		done:  make(chan struct{}),
		rooms: map[string]struct{}{},
	}
	if roomID != "" {
		if !strings.HasPrefix(roomID, domain.PrefixLiveRoom) {
			return nil, domain.Errorf(domain.ENOTFOUND, "live room not found")
		}
		sctx, cancel := context.WithTimeout(ctx, sourceTimeout)
		events, err := h.cfg.Source.RoomEvents(sctx, roomID)
		cancel()
		if err != nil {
			return nil, err
		}
		h.watch(events)
		h.addToRoom(c, roomID)
	}
	if userID != "" {
		h.setUser(c, userID)
	}
	out := make(chan []byte)
	go func() {
		defer close(out)
		defer h.unregister(c)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.done:
				return
			case <-h.stop:
				return
			case m := <-c.queue:
				select {
				case out <- m.data:
				case <-ctx.Done():
					return
				case <-c.done:
					return
				}
			}
		}
	}()
	return out, nil
}
