package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigQueue(t *testing.T) {
	c, _, err := LoadConfig(cfgDev("FLASHLIVE_QUEUE_POW_BITS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultQueue; c.Queue != want {
		t.Fatalf("defaults: %+v, want %+v", c.Queue, want)
	}
	for _, tt := range []struct {
		name, in string
		want     func(QueueConfig) bool
	}{
		{"FLASHLIVE_QUEUE_ADMIT_PER_SECOND", "7", func(q QueueConfig) bool { return q.AdmitPerSecond == 7 }},
		{"FLASHLIVE_QUEUE_ADMIT_PER_SECOND", "100000", func(q QueueConfig) bool { return q.AdmitPerSecond == 100_000 }},
		{"FLASHLIVE_QUEUE_POW_BITS", "0", func(q QueueConfig) bool { return q.PowBits == 0 }},
		{"FLASHLIVE_QUEUE_POW_BITS", " 32 ", func(q QueueConfig) bool { return q.PowBits == 32 }},
		{"FLASHLIVE_QUEUE_ADMISSION_TTL", "90s", func(q QueueConfig) bool { return q.AdmissionTTL == 90*time.Second }},
	} {
		c, _, err := LoadConfig(cfgDev(tt.name, tt.in))
		if err != nil || !tt.want(c.Queue) {
			t.Fatalf("%s=%q: %+v, %v", tt.name, tt.in, c.Queue, err)
		}
	}
	for _, tt := range []struct{ name, in, want string }{
		{"FLASHLIVE_QUEUE_ADMIT_PER_SECOND", "many", `FLASHLIVE_QUEUE_ADMIT_PER_SECOND "many" is not a whole number`},
		{"FLASHLIVE_QUEUE_ADMIT_PER_SECOND", "0", "FLASHLIVE_QUEUE_ADMIT_PER_SECOND must be between 1 and 100000, not 0"},
		{"FLASHLIVE_QUEUE_ADMIT_PER_SECOND", "100001", "FLASHLIVE_QUEUE_ADMIT_PER_SECOND must be between 1 and 100000, not 100001"},
		{"FLASHLIVE_QUEUE_POW_BITS", "-1", "FLASHLIVE_QUEUE_POW_BITS must be between 0 and 32, not -1"},
		{"FLASHLIVE_QUEUE_POW_BITS", "33", "FLASHLIVE_QUEUE_POW_BITS must be between 0 and 32, not 33"},
		{"FLASHLIVE_QUEUE_POW_BITS", "1.5", `FLASHLIVE_QUEUE_POW_BITS "1.5" is not a whole number`},
		{"FLASHLIVE_QUEUE_ADMISSION_TTL", "soon", `FLASHLIVE_QUEUE_ADMISSION_TTL "soon" is not a duration (such as 2m or 90s)`},
		{"FLASHLIVE_QUEUE_ADMISSION_TTL", "500ms", "FLASHLIVE_QUEUE_ADMISSION_TTL must be between 1s and 1h0m0s, not 500ms"},
		{"FLASHLIVE_QUEUE_ADMISSION_TTL", "2h", "FLASHLIVE_QUEUE_ADMISSION_TTL must be between 1s and 1h0m0s, not 2h0m0s"},
	} {
		_, _, err := LoadConfig(cfgDev(tt.name, tt.in))
		if err == nil || !strings.Contains(err.Error(), "\n  - "+tt.want) {
			t.Fatalf("%s=%q: error %v, want one naming %q", tt.name, tt.in, err, tt.want)
		}
	}
}
