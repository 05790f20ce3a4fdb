package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// gqlError is one error of a GraphQL answer.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code         string `json:"code"`
		RetryAfterMs int    `json:"retryAfterMs"`
	} `json:"extensions"`
}

// gqlAnswer is a GraphQL answer with its HTTP status.
type gqlAnswer struct {
	Status int             `json:"-"`
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// code is the first error's code, "" when there is none.
func (a gqlAnswer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	if c := a.Errors[0].Extensions.Code; c != "" {
		return c
	}
	return "ERROR"
}

// err is the first error as a Go error, nil when there is none.
func (a gqlAnswer) err() error {
	if len(a.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", a.code(), a.Errors[0].Message)
}

// retryAfter is how long the server asked the client to wait, 0 if it did not.
func (a gqlAnswer) retryAfter() time.Duration {
	if len(a.Errors) == 0 {
		return 0
	}
	return time.Duration(a.Errors[0].Extensions.RetryAfterMs) * time.Millisecond
}

// endpoint is the server as seen from one client address: its own
// keep-alive connections, dialled from that address, so the server's
// per-address limits see many people rather than one.
type endpoint struct {
	base   string // http://host:port
	from   net.IP // local address; nil: the system's choice
	hc     *http.Client
	dialer *net.Dialer
}

// newEndpoint returns an endpoint for base dialling from from (nil: any).
func newEndpoint(base string, from net.IP, conns int) *endpoint {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
	}
	return &endpoint{base: base, from: from, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, dialer: d}
}

// do posts one GraphQL operation as the holder of token ("" for none).
// An error is a transport failure or an answer that is not GraphQL; a
// GraphQL error is in the answer.
func (e *endpoint) do(ctx context.Context, token, query string, vars map[string]any) (gqlAnswer, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqlAnswer{}, err
	}
	return e.post(ctx, token, body)
}

// post sends a ready GraphQL request body.
func (e *endpoint) post(ctx context.Context, token string, body []byte) (gqlAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.hc.Do(req)
	if err != nil {
		return gqlAnswer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return gqlAnswer{}, err
	}
	var a gqlAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return gqlAnswer{Status: res.StatusCode}, fmt.Errorf("status %d, not a GraphQL answer: %.200q", res.StatusCode, b)
	}
	a.Status = res.StatusCode
	return a, nil
}

// must posts an operation that must succeed and decodes its data into out.
func (e *endpoint) must(ctx context.Context, token, query string, vars map[string]any, out any) error {
	a, err := e.do(ctx, token, query, vars)
	if err != nil {
		return err
	}
	if err := a.err(); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(a.Data, out)
}

// patient is must for the calls of a buyer who waits in line: an answer
// RATE_LIMITED or UNAVAILABLE is asked again after the server's
// retryAfterMs (at least 200 ms, jittered), as a phone would, until ctx
// ends; a transport failure is tried again up to netRetries times. Any
// other error ends the call.
func (e *endpoint) patient(ctx context.Context, token, query string, vars map[string]any, out any) error {
	for failed := 0; ; {
		a, err := e.do(ctx, token, query, vars)
		if err != nil {
			if failed++; failed > netRetries || ctx.Err() != nil {
				return err
			}
			if err := sleep(ctx, jitter(200*time.Millisecond)); err != nil {
				return err
			}
			continue
		}
		if c := a.code(); c == "RATE_LIMITED" || c == "UNAVAILABLE" {
			if err := sleep(ctx, jitter(max(a.retryAfter(), 200*time.Millisecond))); err != nil {
				return fmt.Errorf("%w (last answer %v)", err, a.err())
			}
			continue
		}
		if err := a.err(); err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(a.Data, out)
	}
}

// netRetries is how many times patient tries a call again after a
// transport failure.
const netRetries = 3

// addressPool hands out local loopback addresses (127.1.x.y) for clients
// to dial from, so that a sale's buyers and viewers reach a loopback
// server from many addresses as they would from many phones. Empty when
// the server is not on IPv4 loopback: then every client dials from the
// system's choice of address.
type addressPool []net.IP

// newAddressPool returns n addresses 127.1.0.1, 127.1.0.2, ... (254 per
// third byte) when target is an IPv4 loopback host, none otherwise.
func newAddressPool(target *url.URL, n int) addressPool {
	ip := net.ParseIP(target.Hostname())
	if target.Hostname() == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() || n < 1 {
		return nil
	}
	n = min(n, 254*256)
	p := make(addressPool, n)
	for i := range p {
		p[i] = net.IPv4(127, 1, byte(i/254), byte(i%254+1))
	}
	return p
}

// at returns the i-th client's address (nil for the system's choice).
func (p addressPool) at(i int) net.IP {
	if len(p) == 0 {
		return nil
	}
	return p[i%len(p)]
}

// checkTarget refuses a server that is neither on loopback nor named in
// allowed (comma-separated host names): a load test sent to the wrong
// host is an attack on it.
func checkTarget(raw, allowed string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url %q must be an http(s) URL such as http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		return u, nil
	}
	for _, h := range strings.Split(allowed, ",") {
		if strings.EqualFold(strings.TrimSpace(h), host) {
			return u, nil
		}
	}
	return nil, errors.New("-url " + raw + " is not on loopback: name its host with -allow-host " + host + " to load it on purpose")
}
