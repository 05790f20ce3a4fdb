package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
)

// Automatic persisted queries (Apollo's protocol: a client sends the
// SHA-256 of its query; on PersistedQueryNotFound it sends the query with
// the hash once, and the hash alone after that) are kept per instance, in
// an LRU bounded by entries and by the size of each query.
//
// Per instance rather than shared in Redis: a miss costs the client one
// round trip with the query, never a wrong answer, so sharing would save
// one request per query per instance at the price of a Redis read on the
// path of every hash-only request, and of putting Redis, which the sale's
// hot stock lives in, behind every page load. The queries are few (those
// of the shipped clients), so each instance learns them at once.
const (
	// PersistedQueries is how many queries an instance keeps.
	PersistedQueries = 1000
	// MaxPersistedQueryBytes is the largest query kept; a larger one runs
	// when sent in full but is not kept, so its hash alone keeps missing.
	MaxPersistedQueryBytes = 32 << 10
)

// queryStore is the cache of automatic persisted queries: at most
// PersistedQueries entries of at most MaxPersistedQueryBytes each.
type queryStore struct{ lru *lru.LRU[string] }

var _ graphql.Cache[string] = queryStore{}

func newQueryStore() queryStore { return queryStore{lru.New[string](PersistedQueries)} }

// Get implements graphql.Cache.
func (s queryStore) Get(ctx context.Context, hash string) (string, bool) { return s.lru.Get(ctx, hash) }

// Add implements graphql.Cache: a query larger than MaxPersistedQueryBytes
// is not kept.
func (s queryStore) Add(ctx context.Context, hash, query string) {
	if len(query) <= MaxPersistedQueryBytes {
		s.lru.Add(ctx, hash, query)
	}
}
