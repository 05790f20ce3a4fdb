package graph

import (
	"context"
	"strings"

	"flashlive/domain"
)

// nilIfNotFound turns NOT_FOUND into a null result, as the contract's
// nullable lookups (product(id), node(id), ...) expect.
func nilIfNotFound[T any](v T, err error) (T, error) {
	var zero T
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return zero, nil
	}
	if err != nil {
		return zero, err
	}
	return v, nil
}

// errNotYet is the answer of an operation of the contract that this
// server does not serve yet.
func errNotYet(what string) error {
	return domain.Errorf(domain.EUNAVAILABLE, "%s are not available on this server yet", what)
}

// mayViewPrivate reports whether the caller may see userID's private
// fields: the user themselves, or an ADMIN.
func (r *Resolver) mayViewPrivate(ctx context.Context, userID string) bool {
	if p, ok := domain.PrincipalFromContext(ctx); ok && p.CanManage(userID) {
		return true
	}
	self := r.loadersFor(ctx).self.Load()
	return self != nil && *self == userID
}

// maskEmail hides an address from everyone but its owner and admins:
// "seller@example.com" becomes "s***@example.com".
func maskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "***"
	}
	return email[:1] + "***" + email[at:]
}

// authPayload maps a session to its GraphQL form (nil stays nil) and lets
// the rest of the request show the session's user their private fields.
func (r *Resolver) authPayload(ctx context.Context, s *domain.Session) *AuthPayload {
	if s == nil {
		return nil
	}
	r.loadersFor(ctx).self.Store(&s.User.ID)
	return &AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, User: s.User}
}

// viewerCount is the number of viewers of a room's realtime feed, on every
// instance.
func (r *Resolver) viewerCount(_ context.Context, room *domain.LiveRoom) (int, error) {
	if r.ViewerCounter == nil {
		return 0, nil
	}
	return r.ViewerCounter.ViewerCount(room.ID), nil
}

// orders returns a page of orders as a connection.
func (r *Resolver) orders(ctx context.Context, f domain.OrderFilter, status *domain.OrderStatus, first *int, after *string) (*OrderConnection, error) {
	p, err := pageRequest(first, after)
	if err != nil {
		return nil, err
	}
	f.PageRequest = p
	if status != nil {
		f.Status = *status
	}
	pg, err := r.OrderService.FindOrders(ctx, f)
	if err != nil {
		return nil, err
	}
	edges, info := connection(pg, func(o *domain.Order) string { return o.ID },
		func(c string, n *domain.Order) *OrderEdge { return &OrderEdge{Cursor: c, Node: n} })
	return &OrderConnection{Edges: edges, PageInfo: info}, nil
}
