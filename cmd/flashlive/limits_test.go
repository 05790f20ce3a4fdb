package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want domain.Limit
		err  string
	}{
		{in: "5/s", want: domain.Limit{Rate: 5, Burst: 5, Period: time.Second}},
		{in: "5/s,burst=10", want: domain.Limit{Rate: 5, Burst: 10, Period: time.Second}},
		{in: " 20 / m , burst = 3 ", want: domain.Limit{Rate: 20, Burst: 3, Period: time.Minute}},
		{in: "100/h", want: domain.Limit{Rate: 100, Burst: 100, Period: time.Hour}},
		{in: "7/10s", want: domain.Limit{Rate: 7, Burst: 7, Period: 10 * time.Second}},
		{in: "OFF", want: domain.Limit{}},
		{in: "0", want: domain.Limit{}},
		{in: "5", err: "want <rate>/<period>"},
		{in: "x/s", err: "the rate must be"},
		{in: "0/s", err: "the rate must be"},
		{in: "5/fortnight", err: "the period must be"},
		{in: "5/0s", err: "the period must be"},
		{in: "5/48h", err: "the period must be"},
		{in: "5/s,10", err: "burst=<n>"},
		{in: "5/s,burst=0", err: "the burst must be"},
		{in: "5/s,burst=x", err: "the burst must be"},
	} {
		got, err := parseLimit(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseLimit(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestLoadConfigLimits(t *testing.T) {
	env := map[string]string{
		"FLASHLIVE_ENV":                       "dev",
		"FLASHLIVE_LIMIT_PURCHASE_USER":       "3/s,burst=4",
		"FLASHLIVE_LIMIT_PURCHASE_IP":         "off",
		"FLASHLIVE_LIMIT_TOKEN_USER":          "1/m",
		"FLASHLIVE_LIMIT_TOKEN_IP":            "2/m",
		"FLASHLIVE_LIMIT_LOGIN_IP":            "3/m",
		"FLASHLIVE_LIMIT_LOGIN_EMAIL":         "4/m",
		"FLASHLIVE_LIMIT_REGISTER_IP":         "5/h",
		"FLASHLIVE_LIMIT_REFRESH_IP":          "6/h",
		"FLASHLIVE_LIMIT_WS_CONNECT_IP":       "7/h",
		"FLASHLIVE_LIMIT_WS_FRAMES":           "8/s",
		"FLASHLIVE_LIMIT_LOGIN_FREE_FAILURES": "2",
		"FLASHLIVE_LIMIT_LOGIN_BACKOFF":       "2s",
		"FLASHLIVE_LIMIT_LOGIN_BACKOFF_MAX":   "1m",
		"FLASHLIVE_LIMIT_SUBSCRIPTIONS":       "3",
		"FLASHLIVE_LIMIT_BLOCK_STRIKES":       "9",
		"FLASHLIVE_LIMIT_BLOCK_WINDOW":        "30s",
		"FLASHLIVE_LIMIT_BLOCK_FOR":           "5m",
		"FLASHLIVE_TRUSTED_PROXIES":           "10.0.0.0/8",
	}
	got, _, err := LoadConfig(cfgGetenv(env))
	if err != nil {
		t.Fatal(err)
	}
	per := func(n int, d time.Duration) domain.Limit { return domain.Limit{Rate: n, Burst: n, Period: d} }
	want := Limits{
		PurchaseUser: domain.Limit{Rate: 3, Burst: 4, Period: time.Second},
		TokenUser:    per(1, time.Minute), TokenIP: per(2, time.Minute),
		LoginIP: per(3, time.Minute), LoginEmail: per(4, time.Minute),
		RegisterIP: per(5, time.Hour), RefreshIP: per(6, time.Hour),
		WSConnectIP: per(7, time.Hour), WSFrames: per(8, time.Second),
		LoginFreeFailures: 2, LoginBackoff: 2 * time.Second, LoginBackoffMax: time.Minute,
		SubscriptionsPerSocket: 3,
		BlockStrikes:           9, BlockWindow: 30 * time.Second, BlockFor: 5 * time.Minute,
		GrabUser: DefaultLimits.GrabUser, GrabIP: DefaultLimits.GrabIP, // rain_config_test.go
	}
	if !reflect.DeepEqual(got.Limits, want) {
		t.Fatalf("limits =\n%+v\nwant\n%+v", got.Limits, want)
	}
	if g, w := len(got.TrustedProxies), 1; g != w || got.TrustedProxies[0].String() != "10.0.0.0/8" {
		t.Fatalf("trusted proxies %v", got.TrustedProxies)
	}

	off, _, err := LoadConfig(cfgGetenv(map[string]string{"FLASHLIVE_ENV": "dev", "FLASHLIVE_LIMITS": "off", "FLASHLIVE_LIMIT_PURCHASE_USER": "1/s"}))
	if err != nil {
		t.Fatal(err)
	}
	if off.Limits.on() {
		t.Fatalf("FLASHLIVE_LIMITS=off left limits on: %+v", off.Limits)
	}
	if !DefaultLimits.on() {
		t.Fatal("the default limits are off")
	}
}

func TestLoadConfigLimitErrors(t *testing.T) {
	for _, tt := range []struct {
		k, v  string
		words []string
	}{
		{"FLASHLIVE_LIMITS", "maybe", []string{"FLASHLIVE_LIMITS", `"maybe"`, "on or off"}},
		{"FLASHLIVE_LIMIT_PURCHASE_USER", "5", []string{"FLASHLIVE_LIMIT_PURCHASE_USER", `"5"`, "<rate>/<period>"}},
		{"FLASHLIVE_LIMIT_PURCHASE_IP", "x/s", []string{"FLASHLIVE_LIMIT_PURCHASE_IP", "rate"}},
		{"FLASHLIVE_LIMIT_TOKEN_USER", "1/yr", []string{"FLASHLIVE_LIMIT_TOKEN_USER", "period"}},
		{"FLASHLIVE_LIMIT_TOKEN_IP", "1/s,b=2", []string{"FLASHLIVE_LIMIT_TOKEN_IP", "burst"}},
		{"FLASHLIVE_LIMIT_LOGIN_IP", "-1/s", []string{"FLASHLIVE_LIMIT_LOGIN_IP"}},
		{"FLASHLIVE_LIMIT_LOGIN_EMAIL", "/", []string{"FLASHLIVE_LIMIT_LOGIN_EMAIL"}},
		{"FLASHLIVE_LIMIT_REGISTER_IP", "1/s,burst=-1", []string{"FLASHLIVE_LIMIT_REGISTER_IP"}},
		{"FLASHLIVE_LIMIT_REFRESH_IP", "many", []string{"FLASHLIVE_LIMIT_REFRESH_IP"}},
		{"FLASHLIVE_LIMIT_WS_CONNECT_IP", "1/ms", []string{"FLASHLIVE_LIMIT_WS_CONNECT_IP"}},
		{"FLASHLIVE_LIMIT_WS_FRAMES", "1/-1s", []string{"FLASHLIVE_LIMIT_WS_FRAMES"}},
		{"FLASHLIVE_LIMIT_LOGIN_FREE_FAILURES", "-1", []string{"FLASHLIVE_LIMIT_LOGIN_FREE_FAILURES", "whole number"}},
		{"FLASHLIVE_LIMIT_SUBSCRIPTIONS", "ten", []string{"FLASHLIVE_LIMIT_SUBSCRIPTIONS", "whole number"}},
		{"FLASHLIVE_LIMIT_BLOCK_STRIKES", "1.5", []string{"FLASHLIVE_LIMIT_BLOCK_STRIKES"}},
		{"FLASHLIVE_LIMIT_LOGIN_BACKOFF", "soon", []string{"FLASHLIVE_LIMIT_LOGIN_BACKOFF", "duration"}},
		{"FLASHLIVE_LIMIT_LOGIN_BACKOFF_MAX", "1ms", []string{"FLASHLIVE_LIMIT_LOGIN_BACKOFF_MAX", "shorter"}},
		{"FLASHLIVE_LIMIT_BLOCK_WINDOW", "0s", []string{"FLASHLIVE_LIMIT_BLOCK_WINDOW", "positive"}},
		{"FLASHLIVE_LIMIT_BLOCK_FOR", "1000h", []string{"FLASHLIVE_LIMIT_BLOCK_FOR", "duration"}},
		{"FLASHLIVE_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal", []string{"FLASHLIVE_TRUSTED_PROXIES", `"proxy.internal"`, "CIDR"}},
	} {
		_, _, err := LoadConfig(cfgGetenv(map[string]string{"FLASHLIVE_ENV": "dev", tt.k: tt.v}))
		if err == nil {
			t.Errorf("%s=%q: no error", tt.k, tt.v)
			continue
		}
		for _, w := range tt.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s=%q: error %q does not say %q", tt.k, tt.v, err, w)
			}
		}
	}
}
