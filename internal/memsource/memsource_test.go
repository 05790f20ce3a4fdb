package memsource_test

import (
	"testing"

	"flashlive/domain"
	"flashlive/internal/hoteventsourcetest"
	"flashlive/internal/memsource"
)

// TestContract runs the hot event source's contract over memsource: the
// suite that storage/postgres passes against PostgreSQL.
func TestContract(t *testing.T) {
	hoteventsourcetest.Run(t, func(*testing.T) (domain.HotEventSource, hoteventsourcetest.Seed) {
		s := memsource.New()
		return s, func(_ *testing.T, ev domain.HotEvent) domain.HotEvent {
			s.Put(ev)
			return ev
		}
	})
}
