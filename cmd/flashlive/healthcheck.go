package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HealthcheckTimeout bounds one `flashlive healthcheck` probe, under the
// interval of the container healthchecks that run it.
const HealthcheckTimeout = 3 * time.Second

// healthcheckURL returns the address `flashlive healthcheck` probes: path
// (/readyz or /healthz) on the loopback side of httpAddr, the server's
// FLASHLIVE_HTTP_ADDR (":8080" is probed at 127.0.0.1:8080).
func healthcheckURL(httpAddr, path string) (string, error) {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return "", fmt.Errorf("FLASHLIVE_HTTP_ADDR %q is not host:port", httpAddr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// healthcheck is `flashlive healthcheck [/readyz|/healthz]`, the probe of
// a container image that has no shell and no HTTP client (distroless): it
// GETs the path (default /readyz) from the server of this container and
// returns 0 when it answers 200 within HealthcheckTimeout, 1 otherwise,
// with the reason on w.
func healthcheck(args []string, getenv func(string) string, w io.Writer) int {
	path := "/readyz"
	switch {
	case len(args) > 1:
		fmt.Fprintln(w, "usage: flashlive healthcheck [/readyz|/healthz]")
		return 2
	case len(args) == 1 && (args[0] == "/readyz" || args[0] == "/healthz"):
		path = args[0]
	case len(args) == 1:
		fmt.Fprintf(w, "flashlive healthcheck: %q is neither /readyz nor /healthz\n", args[0])
		return 2
	}
	u, err := healthcheckURL(orDefault(getenv("FLASHLIVE_HTTP_ADDR"), DefaultHTTPAddr), path)
	if err != nil {
		fmt.Fprintf(w, "flashlive healthcheck: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), HealthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintf(w, "flashlive healthcheck: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(w, "flashlive healthcheck: %s: %v\n", u, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(w, "flashlive healthcheck: %s answered %d: %s\n", u, resp.StatusCode, body)
		return 1
	}
	return 0
}
