package domain_test

import (
	"strings"
	"testing"

	"flashlive/domain"
)

func TestLiveRoomStatusNextStatus(t *testing.T) {
	const (
		scheduled = domain.LiveRoomScheduled
		live      = domain.LiveRoomLive
		ended     = domain.LiveRoomEnded
	)
	// Every pair of known statuses, and unknown targets: a room starts once,
	// from SCHEDULED, ends once, and never goes back.
	for _, tt := range []struct {
		from, to domain.LiveRoomStatus
		want     domain.LiveRoomStatus
		wantCode string
		words    []string
	}{
		{scheduled, scheduled, scheduled, domain.ECONFLICT, []string{"already SCHEDULED"}},
		{scheduled, live, live, "", nil},
		{scheduled, ended, ended, "", nil},

		{live, scheduled, live, domain.ECONFLICT, []string{"LIVE", "cannot become SCHEDULED"}},
		{live, live, live, domain.ECONFLICT, []string{"already LIVE"}},
		{live, ended, ended, "", nil},

		{ended, scheduled, ended, domain.ECONFLICT, []string{"has ended"}},
		{ended, live, ended, domain.ECONFLICT, []string{"has ended"}},
		{ended, ended, ended, domain.ECONFLICT, []string{"has ended"}},

		{scheduled, "", scheduled, domain.ECONFLICT, []string{"SCHEDULED"}},
		{scheduled, "PAUSED", scheduled, domain.ECONFLICT, []string{"cannot become PAUSED"}},
		{live, "live", live, domain.ECONFLICT, []string{"cannot become live"}},
		{ended, "PAUSED", ended, domain.ECONFLICT, []string{"has ended"}},
	} {
		t.Run(string(tt.from)+"->"+string(tt.to), func(t *testing.T) {
			got, err := tt.from.NextStatus(tt.to)
			wantError(t, err, tt.wantCode, tt.words...)
			if got != tt.want {
				t.Fatalf("%s.NextStatus(%s) = %s, want %s", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestLiveRoomStatusValid(t *testing.T) {
	for _, tt := range []struct {
		s    domain.LiveRoomStatus
		want bool
	}{
		{domain.LiveRoomScheduled, true},
		{domain.LiveRoomLive, true},
		{domain.LiveRoomEnded, true},
		{"", false},
		{"live", false},
		{"PAUSED", false},
	} {
		if got := tt.s.Valid(); got != tt.want {
			t.Errorf("LiveRoomStatus(%q).Valid() = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestLiveRoomCreateValidate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		title    string
		wantCode string
		words    []string
	}{
		{"valid", "Friday night drops", "", nil},
		{"one character", "x", "", nil},
		{"200 characters", strings.Repeat("ü", 200), "", nil},
		{"empty", "", domain.EINVALID, []string{"title", "must not be empty"}},
		{"201 characters", strings.Repeat("t", 201), domain.EINVALID, []string{"title", "at most 200"}},
		{"control character", "Drops\x1b[5m", domain.EINVALID, []string{"title", "control characters"}},
		{"not UTF-8", "Drops\xff", domain.EINVALID, []string{"title", "not valid UTF-8"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := domain.LiveRoomCreate{Title: tt.title}
			wantError(t, c.Validate(), tt.wantCode, tt.words...)
		})
	}
}
