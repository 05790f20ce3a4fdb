package graph

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"flashlive/domain"
)

// Node is the Go side of the GraphQL Node interface: any of the bound
// domain types that has an ID (User, Product, LiveRoom, FlashEvent, Order).
type Node interface{}

// TimeLayout is how every Time leaves the server: RFC 3339 in UTC with
// milliseconds, as the contract shows.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is the GraphQL Time scalar, marshalled by MarshalTime.
type Time = time.Time

// MarshalTime writes t in TimeLayout, in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(TimeLayout)))
	})
}

// UnmarshalTime reads an RFC 3339 timestamp with a zone.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, domain.Errorf(domain.EINVALID, "time must be an RFC 3339 string such as 2026-11-24T12:00:00.000Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.EINVALID, "time %q is not RFC 3339 (such as 2026-11-24T12:00:00.000Z)", s)
	}
	return t, nil
}
