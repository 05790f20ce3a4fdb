package graph

import (
	"encoding/base64"
	"strings"

	"flashlive/domain"
)

const cursorPrefix = "c1:"

// encodeCursor makes the opaque cursor of the item with the given ID.
func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

// pageRequest turns GraphQL's first/after into a domain.PageRequest.
// INVALID for a cursor this server did not make.
func pageRequest(first *int, after *string) (domain.PageRequest, error) {
	p := domain.PageRequest{First: domain.DefaultPageSize}
	if first != nil {
		p.First = *first
	}
	if after != nil && *after != "" {
		b, err := base64.RawURLEncoding.DecodeString(*after)
		if err != nil || !strings.HasPrefix(string(b), cursorPrefix) || len(b) > 200 {
			return p, domain.Errorf(domain.EINVALID, "after is not a valid cursor")
		}
		p.After = strings.TrimPrefix(string(b), cursorPrefix)
	}
	return p, p.Normalize()
}

// connection builds the edges and page info of a page.
func connection[T any, E any](pg domain.Page[T], id func(T) string, edge func(cursor string, node T) E) ([]E, *PageInfo) {
	edges := make([]E, len(pg.Items))
	info := &PageInfo{HasNextPage: pg.HasNext}
	for i, n := range pg.Items {
		c := encodeCursor(id(n))
		edges[i] = edge(c, n)
		info.EndCursor = &c
	}
	return edges, info
}
