package realtime

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"flashlive/domain"
)

// QueueSource reads waiting-room tickets (storage/redis.Queue): the hub
// asks it once per event, when the pre-start order is drawn, for the
// ranks of the buyers it follows here.
type QueueSource interface {
	Tickets(ctx context.Context, eventID string, buyers []string) (domain.QueueState, map[string]domain.QueueTicket, error)
}

// QueuePresenter is a QueueSource that can also present a ticket as its
// buyer is shown it (service.WaitingRoom.Present): an ADMITTED one with
// its purchase token, EXPIRED once the admission ran out. With one, a new
// connection resumes its buyer's ADMITTED tickets too.
type QueuePresenter interface {
	Present(t domain.QueueTicket, st domain.QueueState) (domain.QueueTicket, error)
}

// Broker subjects of the waiting room.
const (
	subjectQueue      = "fl.live.queue."     // + buyer ID; data: a queueNotice
	subjectQueueState = "fl.live.queuestate" // data: a domain.QueueState as JSON
)

// queueBook is what the hub follows of the waiting rooms here: the ticket
// of each buyer with a connection or listener here, by event, and what
// it last showed them. Positions are derived from each event's state as
// it is broadcast (domain.QueueTicket.WithState): no read per buyer.
type queueBook struct {
	mu      sync.Mutex
	tickets map[string]map[string]*queueView // event → buyer → view
}

type queueView struct {
	ticket  domain.QueueTicket
	sentPos int // the position last sent; 0: none
}

// queueNotice is a ticket on the broker, as the service presented it.
type queueNotice struct {
	EventID   string    `json:"eventId"`
	BuyerID   string    `json:"buyerId"`
	Status    string    `json:"status"` // "": the buyer left
	Seq       int64     `json:"seq"`
	Rank      int64     `json:"rank"`
	Position  *int      `json:"position"`
	Waiting   int       `json:"waiting"`
	WaitMs    *int64    `json:"estimatedWaitMs"`
	Token     string    `json:"token,omitempty"`
	JoinedAt  time.Time `json:"joinedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

type purchaseTokenWire struct {
	Token     string   `json:"token"`
	ExpiresAt wireTime `json:"expiresAt"`
}

// queueFrame is the contract's queue frame.
type queueFrame struct {
	Type            string             `json:"type"`
	EventID         string             `json:"eventId"`
	Status          string             `json:"status"`
	Position        *int               `json:"position"`
	Waiting         int                `json:"waiting"`
	EstimatedWaitMs *int64             `json:"estimatedWaitMs"`
	PurchaseToken   *purchaseTokenWire `json:"purchaseToken,omitempty"`
}

// TicketChanged implements domain.QueueNotifier: t goes to its buyer's
// connections and listeners on every instance.
func (h *Hub) TicketChanged(t domain.QueueTicket) {
	n := queueNotice{
		EventID: t.EventID, BuyerID: t.BuyerID, Status: string(t.Status), Seq: t.Seq, Rank: t.Rank,
		Position: t.Position, Waiting: t.Waiting, JoinedAt: t.JoinedAt, ExpiresAt: t.ExpiresAt,
	}
	if t.EstimatedWait != nil {
		ms := t.EstimatedWait.Milliseconds()
		n.WaitMs = &ms
	}
	if t.PurchaseToken != nil {
		n.Token = t.PurchaseToken.Token
	}
	if err := h.cfg.Broker.Publish(subjectQueue+t.BuyerID, mustJSON(n)); err != nil {
		h.cfg.Logger.Warn("realtime: publish queue ticket", "event_id", t.EventID, "err", err)
	}
}

// QueueMoved implements domain.QueueNotifier: every instance derives the
// positions of the buyers it follows from s.
func (h *Hub) QueueMoved(s domain.QueueState) {
	if err := h.cfg.Broker.Publish(subjectQueueState, mustJSON(s)); err != nil {
		h.cfg.Logger.Warn("realtime: publish queue state", "event_id", s.EventID, "err", err)
	}
}

// WatchQueue makes the hub follow t for its buyer's members here (a
// subscription that starts from a ticket read, not announced).
func (h *Hub) WatchQueue(t domain.QueueTicket) {
	h.queue.follow(t)
}

func (b *queueBook) follow(t domain.QueueTicket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !t.Status.Held() {
		if m := b.tickets[t.EventID]; m != nil {
			delete(m, t.BuyerID)
			if len(m) == 0 {
				delete(b.tickets, t.EventID)
			}
		}
		return
	}
	if b.tickets == nil {
		b.tickets = map[string]map[string]*queueView{}
	}
	m := b.tickets[t.EventID]
	if m == nil {
		m = map[string]*queueView{}
		b.tickets[t.EventID] = m
	}
	v := &queueView{ticket: t}
	if t.Position != nil {
		v.sentPos = *t.Position
	}
	m[t.BuyerID] = v
}

// onQueueTicket follows a ticket of a buyer with members here and sends
// it to them.
func (h *Hub) onQueueTicket(subject string, data []byte) {
	buyer := strings.TrimPrefix(subject, subjectQueue)
	h.mu.RLock()
	here := len(h.users[buyer]) > 0
	h.mu.RUnlock()
	if !here {
		return
	}
	var n queueNotice
	if err := json.Unmarshal(data, &n); err != nil || n.BuyerID != buyer {
		h.cfg.Logger.Warn("realtime: malformed queue notice", "subject", subject)
		return
	}
	t := domain.QueueTicket{
		EventID: n.EventID, BuyerID: n.BuyerID, Status: domain.QueueStatus(n.Status), Seq: n.Seq, Rank: n.Rank,
		Position: n.Position, Waiting: n.Waiting, JoinedAt: n.JoinedAt, ExpiresAt: n.ExpiresAt,
	}
	if n.WaitMs != nil {
		w := time.Duration(*n.WaitMs) * time.Millisecond
		t.EstimatedWait = &w
	}
	if n.Token != "" {
		t.PurchaseToken = &domain.PurchaseToken{Token: n.Token, ExpiresAt: n.ExpiresAt}
	}
	h.queue.follow(t)
	if t.Status != "" {
		h.sendQueue(t)
	}
}

// onQueueState derives, from one event's state, the tickets of the
// buyers followed here that it changes (a new position, CLOSED) and sends
// them; tickets ranked by the draw are read once, together.
func (h *Hub) onQueueState(_ string, data []byte) {
	var s domain.QueueState
	if err := json.Unmarshal(data, &s); err != nil {
		h.cfg.Logger.Warn("realtime: malformed queue state", "err", err)
		return
	}
	b := &h.queue
	b.mu.Lock()
	views := b.tickets[s.EventID]
	var unranked []string
	for buyer, v := range views {
		if v.ticket.Status == domain.QueueWaiting && v.ticket.Rank == 0 && s.Shuffled && v.ticket.Seq > s.ClosedSeq {
			unranked = append(unranked, buyer)
		}
	}
	b.mu.Unlock()
	ranks := h.readRanks(s.EventID, unranked)
	var out []domain.QueueTicket
	b.mu.Lock()
	views = b.tickets[s.EventID]
	for buyer, v := range views {
		h.mu.RLock()
		here := len(h.users[buyer]) > 0
		h.mu.RUnlock()
		if !here {
			delete(views, buyer)
			continue
		}
		if r, ok := ranks[buyer]; ok {
			v.ticket.Rank = r
		}
		t := v.ticket.WithState(s)
		switch {
		case t.Status == domain.QueueClosed:
			delete(views, buyer)
		case t.Position != nil && *t.Position != v.sentPos:
			v.sentPos = *t.Position
		case t.Status == domain.QueueWaiting && t.Waiting != v.ticket.Waiting && v.sentPos == 0:
		default:
			continue
		}
		v.ticket.Waiting = t.Waiting
		out = append(out, t)
	}
	if len(views) == 0 {
		delete(b.tickets, s.EventID)
	}
	b.mu.Unlock()
	for _, t := range out {
		h.sendQueue(t)
	}
}

// resumeAdmitted sends an ADMITTED ticket, presented with its purchase
// token, to its buyer's members here, when the Queue can present it and
// the admission has not run out.
func (h *Hub) resumeAdmitted(t domain.QueueTicket, st domain.QueueState) {
	p, ok := h.cfg.Queue.(QueuePresenter)
	if !ok {
		return
	}
	t, err := p.Present(t, st)
	if err != nil {
		h.cfg.Logger.Warn("realtime: resume an admitted queue ticket", "event_id", t.EventID, "err", err)
		return
	}
	if t.Status != domain.QueueAdmitted || t.PurchaseToken == nil {
		return
	}
	h.queue.follow(t)
	h.sendQueue(t)
}

// readRanks returns the ranks of buyers' tickets, or none when the source
// cannot say (their positions then wait for the next notice).
func (h *Hub) readRanks(eventID string, buyers []string) map[string]int64 {
	if len(buyers) == 0 || h.cfg.Queue == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	defer cancel()
	_, tks, err := h.cfg.Queue.Tickets(ctx, eventID, buyers)
	if err != nil {
		h.cfg.Logger.Warn("realtime: read queue ranks", "event_id", eventID, "err", err)
		return nil
	}
	out := make(map[string]int64, len(tks))
	for b, t := range tks {
		out[b] = t.Rank
	}
	return out
}

// sendQueue sends t, as a queue frame and a domain.LiveQueue, to its
// buyer's members here.
func (h *Hub) sendQueue(t domain.QueueTicket) {
	h.mu.RLock()
	ms := list(h.users[t.BuyerID])
	h.mu.RUnlock()
	if len(ms) == 0 {
		return
	}
	f := queueFrame{Type: "queue", EventID: t.EventID, Status: string(t.Status), Position: t.Position, Waiting: t.Waiting}
	if t.EstimatedWait != nil {
		ms := t.EstimatedWait.Milliseconds()
		f.EstimatedWaitMs = &ms
	}
	if t.PurchaseToken != nil {
		f.PurchaseToken = &purchaseTokenWire{Token: t.PurchaseToken.Token, ExpiresAt: wireTime(t.PurchaseToken.ExpiresAt)}
	}
	m := newMessage(mustJSON(f), domain.LiveQueue{Ticket: t})
	for _, c := range ms {
		c.deliver(m)
	}
}

// joinedEvents is what the hub last read of the events of the rooms c
// is in, so that a sign-in after the joins resumes their queues without
// reading the rooms again.
func (h *Hub) joinedEvents(c *client) []EventState {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []EventState
	for _, v := range h.events {
		if _, in := c.at.rooms[v.state.RoomID]; in && v.state.RoomID != "" {
			out = append(out, v.state)
		}
	}
	return out
}

// resumeQueue sends c, signed in, the WAITING tickets its buyer holds for
// the waiting-room events in events, and follows them: a connection
// opened after its buyer joined a queue (a reload, another device,
// another instance) gets its place and then its moves, as the joining
// connection does. It costs one read per open waiting-room event of the
// room, at join or at a sign-in that changes the buyer, never per second.
// An ADMITTED ticket is resumed too, with its purchase token, when the
// Queue is a QueuePresenter (the token is not kept in the queue: the
// presenter makes it again).
func (h *Hub) resumeQueue(c *client, events []EventState) {
	if h.cfg.Queue == nil {
		return
	}
	h.mu.RLock()
	buyer := c.at.user
	h.mu.RUnlock()
	if buyer == "" {
		return
	}
	for _, ev := range events {
		if ev.Event == nil || !ev.Event.WaitingRoom || (ev.Status != string(domain.FlashEventScheduled) && ev.Status != string(domain.FlashEventLive)) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		st, tks, err := h.cfg.Queue.Tickets(ctx, ev.EventID, []string{buyer})
		cancel()
		if err != nil {
			h.cfg.Logger.Warn("realtime: resume queue ticket", "event_id", ev.EventID, "err", err)
			continue
		}
		t, ok := tks[buyer]
		if ok && t.Status == domain.QueueAdmitted {
			h.resumeAdmitted(t, st)
			continue
		}
		if !ok || t.Status != domain.QueueWaiting {
			continue
		}
		t = t.WithState(st)
		h.queue.follow(t)
		if t.Status == domain.QueueWaiting {
			h.sendQueue(t)
		}
	}
}
