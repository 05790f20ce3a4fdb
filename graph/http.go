package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"flashlive/domain"
)

// The response media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport serves GraphQL over HTTP as the GraphQL-over-HTTP
// specification says (https://graphql.github.io/graphql-over-http/draft/):
// POST with an application/json body, GET for queries only. It answers
// every other request itself, with a coded error: a wrong method 405, a
// wrong content type 415, a body that is not one JSON object 400.
//
// With application/json (what a client gets when it asks for nothing
// else) a request the server refuses (parse, validation, variables,
// limits) answers 200, as the specification asks of that media type; with
// application/graphql-response+json it answers 400. Either way the body
// has "errors" and no "data", and every error carries extensions.code.
// gqlgen's own POST and GET transports answer 422 and "data":null there,
// and some of their errors have no code or echo the body.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports implements graphql.Transport: every request but an upgrade.
func (httpTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

// Do implements graphql.Transport.
func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	start := graphql.Now()
	var params *graphql.RawParams
	var status int
	var refusal error
	switch r.Method {
	case http.MethodGet:
		params, refusal = getParams(r.URL.RawQuery)
		status = http.StatusBadRequest
	case http.MethodPost:
		params, status, refusal = postParams(r)
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		params, status = nil, http.StatusMethodNotAllowed
		refusal = domain.Errorf(domain.EINVALID, "/graphql takes POST (or GET for queries), not %s", r.Method)
	}
	if refusal != nil {
		writeErrors(w, status, exec.DispatchError(r.Context(), gqlerror.List{gqlerror.WrapIfUnwrapped(refusal)}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	rc, errs := exec.CreateOperationContext(r.Context(), params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse && !persistedQueryNotFound(errs) {
			status = http.StatusBadRequest
		}
		writeErrors(w, status, exec.DispatchError(graphql.WithOperationContext(r.Context(), rc), errs))
		return
	}
	if r.Method == http.MethodGet && rc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		err := domain.Errorf(domain.EINVALID, "a %s must be sent with POST; GET runs queries only", rc.Operation.Operation)
		writeErrors(w, http.StatusMethodNotAllowed, exec.DispatchError(r.Context(), gqlerror.List{gqlerror.WrapIfUnwrapped(err)}))
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), rc)
	b, err := json.Marshal(responses(ctx))
	if err != nil {
		panic(fmt.Errorf("encode a GraphQL response: %w", err))
	}
	_, _ = w.Write(b)
}

// responseMedia picks the response's media type from the Accept header:
// application/json unless the client asks for
// application/graphql-response+json before it (or asks for neither).
func responseMedia(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case mediaJSON, "*/*", "application/*":
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// requestBody is the JSON body of a POST.
type requestBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// postParams reads a POST's parameters, or the status and coded error that
// refuse it. No message quotes the body.
func postParams(r *http.Request) (*graphql.RawParams, int, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != mediaJSON {
		return nil, http.StatusUnsupportedMediaType, domain.Errorf(domain.EINVALID,
			"a POST to /graphql must have Content-Type: application/json")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return nil, http.StatusBadRequest, domain.Errorf(domain.EINVALID, "the request body could not be read")
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) > 0 && body[0] == '[' {
		return nil, http.StatusBadRequest, domain.Errorf(domain.EINVALID,
			"the body is a JSON array: batched operations are not supported; send one JSON object")
	}
	b, err := decodeRequestBody(body)
	if err != nil {
		return nil, http.StatusBadRequest, domain.Errorf(domain.EINVALID,
			`the body must be a JSON object: {"query": string, "operationName"?: string, "variables"?: object, "extensions"?: object}`)
	}
	return &graphql.RawParams{Query: b.Query, OperationName: b.OperationName, Variables: b.Variables, Extensions: b.Extensions},
		http.StatusOK, nil
}

// getParams reads a GET's parameters from its query string.
func getParams(rawQuery string) (*graphql.RawParams, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "the query string could not be parsed")
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, into := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		m, err := decodeVariables([]byte(v))
		if err != nil {
			return nil, domain.Errorf(domain.EINVALID, "the %s parameter must be a JSON object", name)
		}
		*into = m
	}
	return p, nil
}

// writeErrors answers a response that has errors and no data.
func writeErrors(w http.ResponseWriter, status int, resp *graphql.Response) {
	b, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
	if err != nil {
		panic(fmt.Errorf("encode GraphQL errors: %w", err))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// persistedQueryNotFound reports whether errs say that an automatic
// persisted query's hash is unknown: Apollo answers that with 200 whatever
// the media type, and its clients then send the query.
func persistedQueryNotFound(errs gqlerror.List) bool {
	for _, e := range errs {
		if e.Message == "PersistedQueryNotFound" {
			return true
		}
	}
	return false
}
