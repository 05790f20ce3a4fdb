package graph

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vikstrous/dataloadgen"

	"flashlive/domain"
)

// loaders batch the reads of one request, so that a list of N events asks
// for their products in one query, not N.
type loaders struct {
	users      *dataloadgen.Loader[string, *domain.User]
	products   *dataloadgen.Loader[string, *domain.Product]
	rooms      *dataloadgen.Loader[string, *domain.LiveRoom]
	events     *dataloadgen.Loader[string, *domain.FlashEvent]
	roomEvents *dataloadgen.Loader[string, []*domain.FlashEvent]
	remaining  *dataloadgen.Loader[*domain.FlashEvent, int]

	// self holds the ID of the user who signed in with this request
	// (register, login, refresh), who may see their own private fields
	// before the request carries their token.
	self atomic.Pointer[string]
}

type loadersKey struct{}

const loaderWait = time.Millisecond

func newLoaders(r *Resolver) *loaders {
	return &loaders{
		users: dataloadgen.NewMappedLoader(byID(r.UserService.FindUsersByIDs, func(u *domain.User) string { return u.ID }),
			dataloadgen.WithWait(loaderWait)),
		products: dataloadgen.NewMappedLoader(byID(r.ProductService.FindProductsByIDs, func(p *domain.Product) string { return p.ID }),
			dataloadgen.WithWait(loaderWait)),
		rooms: dataloadgen.NewMappedLoader(byID(r.LiveRoomService.FindLiveRoomsByIDs, func(l *domain.LiveRoom) string { return l.ID }),
			dataloadgen.WithWait(loaderWait)),
		events: dataloadgen.NewMappedLoader(byID(r.FlashEventService.FindFlashEventsByIDs, func(e *domain.FlashEvent) string { return e.ID }),
			dataloadgen.WithWait(loaderWait)),
		roomEvents: dataloadgen.NewMappedLoader(func(ctx context.Context, roomIDs []string) (map[string][]*domain.FlashEvent, error) {
			es, err := r.FlashEventService.FindFlashEventsByRoomIDs(ctx, roomIDs)
			if err != nil {
				return nil, err
			}
			m := make(map[string][]*domain.FlashEvent, len(roomIDs))
			for _, id := range roomIDs {
				m[id] = []*domain.FlashEvent{}
			}
			for _, e := range es {
				m[e.LiveRoomID] = append(m[e.LiveRoomID], e)
			}
			return m, nil
		}, dataloadgen.WithWait(loaderWait)),
		remaining: dataloadgen.NewMappedLoader(func(ctx context.Context, es []*domain.FlashEvent) (map[*domain.FlashEvent]int, error) {
			byID, err := r.StockReader.RemainingStock(ctx, es)
			if err != nil {
				return nil, err
			}
			m := make(map[*domain.FlashEvent]int, len(es))
			for _, e := range es {
				m[e] = byID[e.ID]
			}
			return m, nil
		}, dataloadgen.WithWait(loaderWait)),
	}
}

// byID adapts a FindXsByIDs method to a mapped fetch. IDs that are not
// found get dataloadgen.ErrNotFound; see load.
func byID[T any](find func(context.Context, []string) ([]T, error), id func(T) string) func(context.Context, []string) (map[string]T, error) {
	return func(ctx context.Context, ids []string) (map[string]T, error) {
		items, err := find(ctx, ids)
		if err != nil {
			return nil, err
		}
		m := make(map[string]T, len(items))
		for _, it := range items {
			m[id(it)] = it
		}
		return m, nil
	}
}

// load loads key and turns "not found" into a NOT_FOUND error naming what.
func load[K comparable, V any](ctx context.Context, l *dataloadgen.Loader[K, V], key K, what string) (V, error) {
	v, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return v, domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	return v, err
}

// withLoaders is HTTP middleware that gives each request its own loaders.
func (r *Resolver) withLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := context.WithValue(req.Context(), loadersKey{}, newLoaders(r))
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// loadersFor returns the request's loaders, or fresh ones outside a request
// (subscriptions, tests).
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r)
}
