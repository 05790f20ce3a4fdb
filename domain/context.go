package domain

import (
	"context"
	"time"
)

type contextKey int

const (
	userContextKey contextKey = iota + 1
	requestIDContextKey
)

// Principal is the caller of a request as proved by an access token: who,
// with which role, from which sign-in and until when. It is what
// authorization checks read; it is not a database row.
type Principal struct {
	UserID string
	Role   Role
	// SessionID names the sign-in the token was issued for (every token
	// refreshed from one login shares it); a logout or a refresh token's
	// reuse revokes it. "" when the token names none (such a token
	// lasts until it expires) or no token proved the principal.
	SessionID string
	// ExpiresAt is when the proof runs out: a connection that outlives it
	// must prove itself again. Zero for a principal that no token proved.
	ExpiresAt time.Time
}

// NewContextWithPrincipal returns a copy of ctx that carries p.
func NewContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, userContextKey, p)
}

// PrincipalFromContext returns the caller carried by ctx, and reports whether
// there is one (false for anonymous requests).
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(userContextKey).(Principal)
	return p, ok && p.UserID != ""
}

// RequirePrincipal returns the caller carried by ctx, or an UNAUTHENTICATED
// error when the request is anonymous.
func RequirePrincipal(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok {
		return Principal{}, Errorf(EUNAUTHENTICATED, "sign in first")
	}
	return p, nil
}

// RequireRole returns the caller carried by ctx when it has one of roles.
// ADMIN passes every check. It returns UNAUTHENTICATED for anonymous requests
// and FORBIDDEN for a caller with another role.
func RequireRole(ctx context.Context, roles ...Role) (Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return p, err
	}
	if p.Role == RoleAdmin {
		return p, nil
	}
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	if len(roles) == 0 {
		return p, Errorf(EFORBIDDEN, "this needs the ADMIN role")
	}
	return p, Errorf(EFORBIDDEN, "this needs the %s role", roles[0])
}

// CanManage reports whether p may change a thing owned by ownerID: its owner
// or an ADMIN.
func (p Principal) CanManage(ownerID string) bool {
	return p.Role == RoleAdmin || (p.UserID != "" && p.UserID == ownerID)
}

// NewContextWithRequestID returns a copy of ctx that carries the request ID.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey, id)
}

// RequestIDFromContext returns the request ID carried by ctx, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey).(string)
	return id
}
