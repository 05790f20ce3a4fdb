package main

import (
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func TestLoadConfigGrabLimits(t *testing.T) {
	got, _, err := LoadConfig(cfgGetenv(map[string]string{
		"FLASHLIVE_ENV": "dev", "FLASHLIVE_LIMIT_GRAB_USER": "2/s,burst=3", "FLASHLIVE_LIMIT_GRAB_IP": "off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := (domain.Limit{Rate: 2, Burst: 3, Period: time.Second}); got.Limits.GrabUser != want || !got.Limits.GrabIP.Off() {
		t.Fatalf("grab limits = %+v / %+v, want %+v / off", got.Limits.GrabUser, got.Limits.GrabIP, want)
	}
	def, _, err := LoadConfig(cfgGetenv(map[string]string{"FLASHLIVE_ENV": "dev"}))
	if err != nil {
		t.Fatal(err)
	}
	if def.Limits.GrabUser != DefaultLimits.GrabUser || def.Limits.GrabUser.Off() || def.Limits.GrabIP.Off() {
		t.Fatalf("default grab limits = %+v / %+v", def.Limits.GrabUser, def.Limits.GrabIP)
	}
	for k, v := range map[string]string{"FLASHLIVE_LIMIT_GRAB_USER": "5", "FLASHLIVE_LIMIT_GRAB_IP": "1/yr"} {
		_, _, err := LoadConfig(cfgGetenv(map[string]string{"FLASHLIVE_ENV": "dev", k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v, want one naming the variable", k, v, err)
		}
	}
}
