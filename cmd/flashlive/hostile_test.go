package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHostileInputs sends what an attacker or a broken client would: every
// answer is a coded GraphQL error or a 4xx, never a 5xx, and the server
// keeps serving.
func TestHostileInputs(t *testing.T) {
	app := startApp(t, func(c *Config) { c.Env = EnvProd })
	anon := app.anon()

	t.Run("malformed JSON", func(t *testing.T) {
		r := anon.raw(t, "application/json", []byte(`{"query": "{ serverTime }"`))
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("status = %d, want 4xx", r.Status)
		}
		if len(r.Errors) == 0 {
			t.Fatal("no error in the body")
		}
	})

	t.Run("20 MB body", func(t *testing.T) {
		body := append([]byte(`{"query":"{ serverTime }","variables":{"x":"`), bytes.Repeat([]byte("a"), 20<<20)...)
		body = append(body, `"}}`...)
		r := anon.raw(t, "application/json", body)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413", r.Status)
		}
		if got := r.code(); got != "INVALID" {
			t.Fatalf("code = %q, want INVALID", got)
		}
	})

	t.Run("20 MB body without a length", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte(`{"query":"{ serverTime }","variables":{"x":"`))
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			for i := 0; i < 20; i++ {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/graphql", pr)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection once it has read its limit.
			return
		}
		defer res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Fatalf("status = %d, want 4xx", res.StatusCode)
		}
		_ = pr.CloseWithError(io.EOF)
	})

	t.Run("40-deep query", func(t *testing.T) {
		q := "{ liveRooms { edges { node { " + strings.Repeat("flashEvents { liveRoom { ", 19) + "id" + strings.Repeat(" } }", 19) + " } } } }"
		r := anon.wantCode(t, "INVALID", q, nil)
		if !strings.Contains(r.Errors[0].Message, "deeper") {
			t.Fatalf("message = %q, want it to say the query is too deep", r.Errors[0].Message)
		}
	})

	t.Run("2000 aliases", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(&b, " a%d: serverTime", i)
		}
		b.WriteString(" }")
		anon.wantCode(t, "INVALID", b.String(), nil)
	})

	t.Run("fragment bomb", func(t *testing.T) {
		// Each fragment spreads the next twice: 2^20 fields once expanded.
		var b strings.Builder
		b.WriteString("{ ...F0 }")
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
		}
		b.WriteString(" fragment F20 on Query { serverTime }")
		anon.wantCode(t, "INVALID", b.String(), nil)
	})

	t.Run("huge page of nested lists", func(t *testing.T) {
		anon.wantCode(t, "INVALID", `{ liveRooms(first: 100) { edges { node { flashEvents { product { seller { id } } liveRoom { flashEvents { id } } } } } } }`, nil)
	})

	t.Run("too many tokens", func(t *testing.T) {
		q := "{ serverTime " + strings.Repeat("__typename ", 20000) + "}"
		anon.wantCode(t, "INVALID", q, nil)
	})

	t.Run("unknown field without suggestions in prod", func(t *testing.T) {
		r := anon.wantCode(t, "INVALID", `{ serverTim }`, nil)
		if strings.Contains(r.Errors[0].Message, "Did you mean") {
			t.Fatalf("prod suggests fields: %q", r.Errors[0].Message)
		}
	})

	t.Run("no introspection in prod", func(t *testing.T) {
		anon.wantCode(t, "INVALID", `{ __schema { types { name } } }`, nil)
	})

	t.Run("wrong variable types", func(t *testing.T) {
		anon.wantCode(t, "INVALID", `query($n: Int) { products(first: $n) { edges { cursor } } }`, map[string]any{"n": "ten"})
		anon.wantCode(t, "INVALID", `query($n: Int) { products(first: $n) { edges { cursor } } }`, map[string]any{"n": true})
	})

	t.Run("mutation over GET", func(t *testing.T) {
		q := url.QueryEscape(`mutation { logout(refreshToken: "x") }`)
		res, body := app.get(t, "/graphql?query="+q)
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Fatalf("status = %d, want 4xx; body %s", res.StatusCode, body)
		}
	})

	t.Run("query over GET works", func(t *testing.T) {
		res, body := app.get(t, "/graphql?query="+url.QueryEscape(`{ serverTime }`))
		if res.StatusCode != 200 || !strings.Contains(body, "serverTime") {
			t.Fatalf("GET query: %d %s", res.StatusCode, body)
		}
	})

	t.Run("wrong content type", func(t *testing.T) {
		r := anon.raw(t, "text/plain", []byte(`{ serverTime }`))
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("status = %d, want 4xx", r.Status)
		}
	})

	t.Run("bad authorization scheme", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out gqlResponse
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != 401 || out.code() != "UNAUTHENTICATED" {
			t.Fatalf("status %d code %q, want 401 UNAUTHENTICATED", res.StatusCode, out.code())
		}
	})

	// After all that, the server still answers.
	var ok struct{ ServerTime string }
	anon.must(t, `{ serverTime }`, nil, &ok)
	if ok.ServerTime == "" {
		t.Fatal("serverTime is empty")
	}
}

// TestIntrospectionInDev checks that dev keeps introspection for tools.
func TestIntrospectionInDev(t *testing.T) {
	app := startApp(t, nil)
	var out struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	app.anon().must(t, `{ __schema { queryType { name } } }`, nil, &out)
	if out.Schema.QueryType.Name != "Query" {
		t.Fatalf("introspection in dev = %+v", out)
	}
}
