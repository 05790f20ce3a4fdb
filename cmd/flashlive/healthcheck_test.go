package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck runs `flashlive healthcheck` against a real HTTP server
// on the address FLASHLIVE_HTTP_ADDR names: 0 for a 200, 1 for a 503 or
// nobody listening, 2 for a bad argument.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" && r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := map[string]string{"FLASHLIVE_HTTP_ADDR": ":" + port}
	run := func(args ...string) (int, string) {
		var out strings.Builder
		code := healthcheck(args, func(k string) string { return env[k] }, &out)
		return code, out.String()
	}

	if code, out := run(); code != 0 {
		t.Fatalf("healthcheck on a ready server = %d (%s), want 0", code, out)
	}
	if code, out := run("/healthz"); code != 0 {
		t.Fatalf("healthcheck /healthz = %d (%s), want 0", code, out)
	}
	status = http.StatusServiceUnavailable
	if code, out := run(); code != 1 || !strings.Contains(out, "answered 503") {
		t.Fatalf("healthcheck on a 503 = %d (%q), want 1 naming the status", code, out)
	}
	if code, _ := run("/metrics"); code != 2 {
		t.Fatalf("healthcheck /metrics = %d, want 2 (usage)", code)
	}
	srv.Close()
	if code, out := run(); code != 1 || !strings.Contains(out, "127.0.0.1:"+port) {
		t.Fatalf("healthcheck with nobody listening = %d (%q), want 1 naming the address", code, out)
	}
}

// TestHealthcheckURL probes the loopback side of a wildcard address and
// the named host otherwise.
func TestHealthcheckURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://127.0.0.1:8080/readyz",
		"10.1.2.3:9000":  "http://10.1.2.3:9000/readyz",
		"localhost:8080": "http://localhost:8080/readyz",
	} {
		got, err := healthcheckURL(addr, "/readyz")
		if err != nil || got != want {
			t.Errorf("healthcheckURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthcheckURL("8080", "/readyz"); err == nil {
		t.Error("healthcheckURL(\"8080\") gave no error")
	}
}
