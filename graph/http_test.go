package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// answer is a response of the HTTP transport, its body kept raw too.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// serveHTTP sends one request to NewHandler.
func serveHTTP(t *testing.T, h http.Handler, method, target, contentType, accept, body string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, target, a.raw, err)
	}
	return a
}

// errorsOf returns the answer's errors as {message, code} pairs, and
// fails the test when one has no code.
func (a answer) errorsOf(t *testing.T) [][2]string {
	t.Helper()
	list, _ := a.body["errors"].([]any)
	var out [][2]string
	for _, e := range list {
		m, _ := e.(map[string]any)
		ext, _ := m["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		if code == "" {
			t.Fatalf("error without extensions.code: %s", a.raw)
		}
		msg, _ := m["message"].(string)
		out = append(out, [2]string{msg, code})
	}
	return out
}

func testHandler() http.Handler {
	return NewHandler(&Resolver{
		UserService: noUsers{}, ProductService: noProducts{}, LiveRoomService: noRooms{}, FlashEventService: noEvents{},
	}, Options{})
}

// Every refusal of the HTTP transport has a status the GraphQL-over-HTTP
// spec allows, errors with extensions.code and no data, and no message
// that echoes the request body.
func TestHTTPRefusalsAreCoded(t *testing.T) {
	const secret = "s3cr3t-in-the-body"
	h := testHandler()
	for _, tt := range []struct {
		name                          string
		method, target, ctype, accept string
		body                          string
		status                        int
		allow                         string
		want                          [][2]string
	}{
		{"text/plain POST", "POST", "/graphql", "text/plain", "", `{"query":"{ __typename }"}`, 415, "",
			[][2]string{{"a POST to /graphql must have Content-Type: application/json", "INVALID"}}},
		{"PUT", "PUT", "/graphql", "application/json", "", `{"query":"{ __typename }"}`, 405, "GET, POST, OPTIONS",
			[][2]string{{"/graphql takes POST (or GET for queries), not PUT", "INVALID"}}},
		{"GET mutation", "GET", "/graphql?query=" + url.QueryEscape(`mutation { logout(refreshToken: "x") }`), "", "", "", 405, "POST",
			[][2]string{{"a mutation must be sent with POST; GET runs queries only", "INVALID"}}},
		{"JSON array", "POST", "/graphql", "application/json", "", `[{"query":"{ __typename }","x":"` + secret + `"}]`, 400, "",
			[][2]string{{"the body is a JSON array: batched operations are not supported; send one JSON object", "INVALID"}}},
		{"broken JSON", "POST", "/graphql", "application/json", "", `{"query": "` + secret, 400, "",
			[][2]string{{`the body must be a JSON object: {"query": string, "operationName"?: string, "variables"?: object, "extensions"?: object}`, "INVALID"}}},
		{"bad variables on GET", "GET", "/graphql?query=%7B__typename%7D&variables=" + secret, "", "", "", 400, "",
			[][2]string{{"the variables parameter must be a JSON object", "INVALID"}}},
		{"parse error, application/json", "POST", "/graphql", "application/json", "application/json", `{"query":"{"}`, 200, "",
			[][2]string{{"Expected Name, found <EOF>", "INVALID"}}},
		{"parse error, graphql-response+json", "POST", "/graphql", "application/json", "application/graphql-response+json", `{"query":"{"}`, 400, "",
			[][2]string{{"Expected Name, found <EOF>", "INVALID"}}},
		{"unknown field, graphql-response+json", "POST", "/graphql", "application/json", "application/graphql-response+json", `{"query":"{ nope }"}`, 400, "",
			[][2]string{{`Cannot query field "nope" on type "Query".`, "INVALID"}}},
		{"unknown field, application/json", "GET", "/graphql?query=%7B%20nope%20%7D", "", "application/json", "", 200, "",
			[][2]string{{`Cannot query field "nope" on type "Query".`, "INVALID"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := serveHTTP(t, h, tt.method, tt.target, tt.ctype, tt.accept, tt.body)
			if a.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", a.status, tt.status, a.raw)
			}
			if got := a.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow = %q, want %q", got, tt.allow)
			}
			if got := a.errorsOf(t); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors = %q, want %q", got, tt.want)
			}
			if _, ok := a.body["data"]; ok {
				t.Fatalf("a refusal has a data entry: %s", a.raw)
			}
			if strings.Contains(a.raw, secret) {
				t.Fatalf("the answer echoes the body: %s", a.raw)
			}
		})
	}
}

// Automatic persisted queries, as Apollo's clients use them: the hash
// alone is PersistedQueryNotFound (200, code PERSISTED_QUERY_NOT_FOUND,
// whatever the media type); the hash with its query runs and is kept;
// then the hash alone runs, by POST or GET; a hash that is not the
// query's is refused.
func TestAutomaticPersistedQueries(t *testing.T) {
	h := testHandler()
	const query = `query Hello { __typename }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
	post := func(body, accept string) answer {
		t.Helper()
		return serveHTTP(t, h, "POST", "/graphql", "application/json", accept, body)
	}
	wantData := func(what string, a answer) {
		t.Helper()
		if a.status != 200 || a.raw != `{"data":{"__typename":"Query"}}` {
			t.Fatalf("%s: %d %s, want 200 and the query's data", what, a.status, a.raw)
		}
	}

	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		a := post(`{"extensions":`+ext+`}`, accept)
		if got, want := a.errorsOf(t), [][2]string{{"PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND"}}; a.status != 200 || !reflect.DeepEqual(got, want) {
			t.Fatalf("hash only (%s), unknown: %d %q, want 200 %q", accept, a.status, got, want)
		}
	}
	wantData("hash and query", post(`{"query":"`+query+`","extensions":`+ext+`}`, ""))
	wantData("hash only, known", post(`{"extensions":`+ext+`}`, ""))
	wantData("hash only by GET", serveHTTP(t, h, "GET", "/graphql?extensions="+url.QueryEscape(ext), "", "", ""))

	other := `{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("0", 64) + `"}}`
	a := post(`{"query":"{ __typename }","extensions":`+other+`}`, "")
	if got, want := a.errorsOf(t), [][2]string{{"provided APQ hash does not match query", "INVALID"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("a hash that is not the query's: %q, want %q", got, want)
	}
	if a := post(`{"extensions":`+other+`}`, ""); a.errorsOf(t)[0][1] != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("the refused hash was kept: %s", a.raw)
	}
}

// The APQ cache keeps at most MaxPersistedQueryBytes per query.
func TestQueryStoreBoundsEntries(t *testing.T) {
	s := newQueryStore()
	ctx := t.Context()
	s.Add(ctx, "small", "{ __typename }")
	s.Add(ctx, "large", strings.Repeat(" ", MaxPersistedQueryBytes+1))
	if _, ok := s.Get(ctx, "small"); !ok {
		t.Fatal("a small query was not kept")
	}
	if _, ok := s.Get(ctx, "large"); ok {
		t.Fatalf("a query over %d bytes was kept", MaxPersistedQueryBytes)
	}
}
