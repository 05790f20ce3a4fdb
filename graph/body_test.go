package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// purchaseBody is what a buyer's press sends (as cmd/flashlive-bench does).
const purchaseBody = `{"query":"mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome retryAfterMs order { id } } }",` +
	`"variables":{"in":{"eventId":"01JEZ3Q4K6W8Y0A2C4E6G8J0M2","token":"v1.1733140000.ZmFrZS1zaWduYXR1cmUtb2YtdGhpcnR5LXR3by1ieXRlcw","quantity":1,"idempotencyKey":"press-0042-7"}}}`

// encodingJSONBody is how postParams read a body before decodeRequestBody:
// the reference decodeRequestBody must agree with.
func encodingJSONBody(body []byte) (requestBody, error) {
	var b requestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(&b)
	return b, err
}

func TestDecodeRequestBodyAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{
		purchaseBody,
		`{"query":"{ serverTime }"}`,
		`{}`,
		` { "query" : "q" , "operationName" : "Op" } `,
		`{"query":null,"operationName":null,"variables":null,"extensions":null}`,
		`{"query":"q","variables":{"n":-12,"f":1.5e-3,"big":123456789012345678901234567890,"z":0}}`,
		`{"query":"q","variables":{"s":"caf\u00e9 \"quoted\" \\ \n","emoji":"\ud83d\ude00","t":true,"f":false,"nil":null}}`,
		`{"query":"q","variables":{"a":[],"o":{},"deep":{"x":[1,[2,[3,{"y":[]}]]]}}}`,
		`{"query":"q","variables":{"k":1,"k":2},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
		`{"query":"q","unknown":{"nested":[1,2,{"x":null}]},"also":"x"}`,
		`{"query":"q","query":"last"}`,
		`{"query":"q","variables":{"a":1},"variables":null}`,
		`{"query":"q","query":null}`,
		"{\"query\":\"bad \xff utf-8\"}",
	} {
		want, werr := encodingJSONBody([]byte(body))
		if werr != nil {
			t.Fatalf("%s: encoding/json refused it: %v", body, werr)
		}
		got, err := decodeRequestBody([]byte(body))
		if err != nil {
			t.Errorf("%s: refused: %v", body, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", body, got, want)
		}
	}
}

func TestDecodeRequestBodyRefusesWhatIsNoRequestObject(t *testing.T) {
	for _, body := range []string{
		``,
		`   `,
		`[{"query":"q"}]`,
		`"query"`,
		`null`,
		`{"query":"q"`,
		`{"query":"q",}`,
		`{"query":"q"} {"query":"again"}`,
		`{"query":"q"} x`,
		`{"query":5}`,
		`{"query":["q"]}`,
		`{"operationName":{}}`,
		`{"query":"q","variables":[1]}`,
		`{"query":"q","variables":"{}"}`,
		`{"query":"q","variables":{"a":}}`,
		`{"query":"q","extensions":true}`,
		`{"query":"q","variables":{"a":[1,]}}`,
	} {
		if b, err := decodeRequestBody([]byte(body)); err == nil {
			t.Errorf("%q: accepted as %#v", body, b)
		}
	}
}

func TestDecodeVariables(t *testing.T) {
	m, err := decodeVariables([]byte(`{"in":{"quantity":2,"key":"k"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"in": map[string]any{"quantity": json.Number("2"), "key": "k"}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %#v, want %#v", m, want)
	}
	if m, err := decodeVariables([]byte(`null`)); err != nil || m != nil {
		t.Fatalf("null: got %#v, %v; want no variables", m, err)
	}
	for _, raw := range []string{`[]`, `1`, `{"a":1} {}`, `{`, ``} {
		if _, err := decodeVariables([]byte(raw)); err == nil {
			t.Errorf("%q: accepted", raw)
		}
	}
	if _, err := decodeVariables([]byte(`"x"`)); !errors.Is(err, errBodyShape) {
		t.Errorf(`"x": got %v, want errBodyShape`, err)
	}
}

// Pooled decoders hand no state from one body to the next, whatever
// runs at once.
func TestDecodeRequestBodyConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("k-%d-%d", g, i)
				body := fmt.Sprintf(`{"query":"q%d","variables":{"in":{"idempotencyKey":%q,"quantity":%d}}}`, i, key, i)
				if i%3 == 0 {
					body = `{"query":` // broken: its decoder goes back to the pool mid-value
				}
				b, err := decodeRequestBody([]byte(body))
				if i%3 == 0 {
					if err == nil {
						t.Errorf("%s: accepted", body)
					}
					continue
				}
				want := map[string]any{"in": map[string]any{"idempotencyKey": key, "quantity": json.Number(fmt.Sprint(i))}}
				if err != nil || b.Query != fmt.Sprintf("q%d", i) || !reflect.DeepEqual(b.Variables, want) {
					t.Errorf("%s: got %#v, %v", body, b, err)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkRequestBody compares decodeRequestBody with the encoding/json
// reading it replaced, on a purchase's body.
func BenchmarkRequestBody(b *testing.B) {
	body := []byte(purchaseBody)
	for _, bb := range []struct {
		name   string
		decode func([]byte) (requestBody, error)
	}{{"encoding-json", encodingJSONBody}, {"jsontext", decodeRequestBody}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bb.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
