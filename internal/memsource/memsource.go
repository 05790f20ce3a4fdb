// Package memsource is an in-memory domain.HotEventSource, for the tests
// of the services that read one (package service).
//
// It is a second implementation of the source, beside storage/postgres's,
// and it is kept honest the same way: internal/hoteventsourcetest runs one
// contract suite over both. Its rules are PostgreSQL's: MarkLoaded makes
// every later read of the event report LoadedBefore, and KeptAnswer finds
// an answer among the event's Answers by buyer and key. What it holds is what
// Put gave it; it derives nothing (Remaining, Held and Unpaid are not
// computed from orders, as PostgreSQL computes them).
package memsource

import (
	"context"
	"maps"
	"slices"
	"sync"

	"flashlive/domain"
)

// HotEventSource is a HotEventSource over a map of events. It is safe for
// concurrent use.
type HotEventSource struct {
	mu     sync.Mutex
	events map[string]domain.HotEvent
}

var _ domain.HotEventSource = (*HotEventSource)(nil)

// New returns an empty source.
func New() *HotEventSource {
	return &HotEventSource{events: map[string]domain.HotEvent{}}
}

// Put stores ev under its ID as the system of record would hold it,
// replacing what was there: reads return it as given (LoadedBefore
// included) until MarkLoaded or the next Put.
func (s *HotEventSource) Put(ev domain.HotEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[ev.ID] = clone(ev)
}

// HotEvent implements domain.HotEventSource: the event as put, Held never
// nil. NOT_FOUND for unknown IDs.
func (s *HotEventSource) HotEvent(_ context.Context, eventID string) (*domain.HotEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[eventID]
	if !ok {
		return nil, notFound(eventID)
	}
	ev = clone(ev)
	if ev.Held == nil {
		ev.Held = map[string]int{}
	}
	return &ev, nil
}

// BriefHotEvent implements domain.HotEventSource: the event as put without
// Held, Unpaid and Answers, as PostgreSQL's brief read leaves them out.
// NOT_FOUND for unknown IDs.
func (s *HotEventSource) BriefHotEvent(_ context.Context, eventID string) (*domain.HotEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[eventID]
	if !ok {
		return nil, notFound(eventID)
	}
	ev.Held, ev.Unpaid, ev.Answers = nil, nil, nil
	return &ev, nil
}

// MarkLoaded implements domain.HotEventSource: later reads of the event
// report LoadedBefore. Marking an unknown ID does nothing, as PostgreSQL's
// update of no row does nothing.
func (s *HotEventSource) MarkLoaded(_ context.Context, eventID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev, ok := s.events[eventID]; ok {
		ev.LoadedBefore = true
		s.events[eventID] = ev
	}
	return nil
}

// KeptAnswer implements domain.HotEventSource: the first of the event's
// Answers (as put) for the buyer and key. NOT_FOUND when none, or for an
// unknown event. It applies no TTL: what was put is what is kept.
func (s *HotEventSource) KeptAnswer(_ context.Context, eventID, buyerID, idempotencyKey string) (*domain.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.events[eventID].Answers {
		if r.BuyerID == buyerID && r.IdempotencyKey == idempotencyKey {
			return &r, nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "kept answer not found")
}

func notFound(eventID string) error {
	return domain.Errorf(domain.ENOTFOUND, "flash event %s not found", eventID)
}

// clone copies ev's holdings, so that no caller shares them with the map.
func clone(ev domain.HotEvent) domain.HotEvent {
	ev.Held = maps.Clone(ev.Held)
	ev.Unpaid = slices.Clone(ev.Unpaid)
	ev.Answers = slices.Clone(ev.Answers)
	return ev
}
