package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// errBodyShape is what decodeRequestBody returns for a body that is JSON
// but not the request object: postParams answers both alike.
var errBodyShape = errors.New("the body is not a GraphQL request object")

// decodeRequestBody reads a POST's JSON body: one object whose "query"
// and "operationName" are strings (or null) and whose "variables" and
// "extensions" are objects (or null); other members are ignored, and
// nothing may follow the object. Values come out as encoding/json gives
// them with UseNumber, which gqlgen's coercion expects: objects as
// map[string]any, arrays as []any, numbers as json.Number holding the
// literal. As encoding/json does, a repeated name keeps its last value and
// invalid UTF-8 is replaced, but names match exactly (the GraphQL-over-HTTP
// specification spells them), and a repeated "variables" or "extensions"
// replaces the one before (see readObject).
//
// It exists because it is the purchase's cost: encoding/json's reflection
// and its stack growth were a tenth of the server's CPU on a press a
// sold-out event answers; jsontext reads the same tokens without either.
func decodeRequestBody(body []byte) (requestBody, error) {
	var b requestBody
	dec := newDecoder(body)
	defer putDecoder(dec)
	if tok, err := dec.ReadToken(); err != nil {
		return b, err
	} else if tok.Kind() != '{' {
		return b, errBodyShape
	}
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return b, err
		}
		if tok.Kind() == '}' {
			break
		}
		switch name := tok.String(); name {
		case "query":
			err = readString(dec, &b.Query)
		case "operationName":
			err = readString(dec, &b.OperationName)
		case "variables":
			err = readObject(dec, &b.Variables)
		case "extensions":
			err = readObject(dec, &b.Extensions)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return b, err
		}
	}
	return b, atEnd(dec)
}

// decodeVariables reads a JSON object of variables (a GET's variables
// parameter) as decodeRequestBody reads "variables"; null is no object.
func decodeVariables(raw []byte) (map[string]any, error) {
	var m map[string]any
	dec := newDecoder(raw)
	defer putDecoder(dec)
	if err := readObject(dec, &m); err != nil {
		return nil, err
	}
	if err := atEnd(dec); err != nil {
		return nil, err
	}
	return m, nil
}

// atEnd refuses anything but white space after the object dec read.
func atEnd(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", errBodyShape)
	}
	return nil
}

// decoders keeps jsontext's decoders, which are large, between requests.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// newDecoder is a pooled decoder reading b in place (a bytes.Buffer is
// read without a copy), with encoding/json's leniency on repeated names
// and invalid UTF-8. The caller gives it back with putDecoder.
func newDecoder(b []byte) *jsontext.Decoder {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewBuffer(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	return dec
}

// putDecoder returns dec to decoders, reading nothing, so that the pool
// holds no request's body.
func putDecoder(dec *jsontext.Decoder) {
	dec.Reset(new(bytes.Buffer))
	decoders.Put(dec)
}

// readString reads a string or null (which leaves *s as it is) into s.
func readString(dec *jsontext.Decoder, s *string) error {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return err
	case tok.Kind() == '"':
		*s = tok.String()
	case tok.Kind() != 'n':
		return errBodyShape
	}
	return nil
}

// readObject reads an object, or null (no object: nil, as encoding/json
// sets a map), into m.
// A repeated member replaces the object before it (encoding/json would
// merge the two into one map).
func readObject(dec *jsontext.Decoder, m *map[string]any) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*m = nil
		return err
	case '{':
		v, err := readValue(dec)
		if err != nil {
			return err
		}
		*m = v.(map[string]any)
		return nil
	case 0:
		_, err := dec.ReadToken() // the decoder's own error
		return err
	default:
		return errBodyShape
	}
}

// readValue reads any one JSON value, as encoding/json with UseNumber
// decodes it into an interface.
func readValue(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok.Bool(), nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case '{':
		m := map[string]any{}
		for {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			if tok.Kind() == '}' {
				return m, nil
			}
			name := tok.String()
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return a, nil
	default:
		return nil, fmt.Errorf("unexpected JSON token %v", tok)
	}
}
