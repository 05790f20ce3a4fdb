package graph

import (
	"context"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"flashlive/domain"
)

// shapeLimit is a gqlgen extension that refuses operations nested deeper
// than MaxDepth or selecting more than MaxFields fields in all (aliases and
// fragment spreads counted as often as they are expanded), and, with
// NoIntrospection, operations that ask for __schema or __type. It runs
// before the complexity limit and stops counting at the first excess, so
// that a "fragment bomb" costs no more than its limit.
type shapeLimit struct {
	MaxDepth        int
	MaxFields       int
	NoIntrospection bool
}

var (
	_ graphql.HandlerExtension        = shapeLimit{}
	_ graphql.OperationContextMutator = shapeLimit{}
)

// ExtensionName implements graphql.HandlerExtension.
func (shapeLimit) ExtensionName() string { return "ShapeLimit" }

// Validate implements graphql.HandlerExtension.
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := shapeWalker{limit: l, doc: oc.Doc, mutation: oc.Operation.Operation == ast.Mutation, once: map[string]int{}}
	w.walk(oc.Operation.SelectionSet, 1)
	for group, n := range w.once {
		if n > 1 {
			return coded(domain.EINVALID, "an operation may call %s at most once (aliases included); send one per request", group)
		}
	}
	switch {
	case w.introspects:
		return coded(domain.EINVALID, "introspection is disabled on this server")
	case w.tooDeep:
		return coded(domain.EINVALID, "the query is nested deeper than %d levels", l.MaxDepth)
	case w.tooMany:
		return coded(domain.EINVALID, "the query selects more than %d fields", l.MaxFields)
	}
	return nil
}

type shapeWalker struct {
	limit                         shapeLimit
	doc                           *ast.QueryDocument
	fields                        int
	tooDeep, tooMany, introspects bool
	// mutation reports whether the operation is a mutation; once counts
	// its root fields of each group in oncePerOperation.
	mutation bool
	once     map[string]int
}

// oncePerOperation groups the mutations an operation may call at most
// once, whatever their aliases: each call is an attempt that a rate limit
// counts (a password guess, an account, a press of "buy"), and aliases
// must not multiply attempts within one request. It is checked on the
// parsed operation, before any resolver runs.
var oncePerOperation = map[string]string{
	"login":              "login, register or refreshToken",
	"register":           "login, register or refreshToken",
	"refreshToken":       "login, register or refreshToken",
	"purchaseFlash":      "purchaseFlash",
	"flashPurchaseToken": "flashPurchaseToken",
}

func (w *shapeWalker) walk(set ast.SelectionSet, depth int) {
	for _, sel := range set {
		if w.tooDeep || w.tooMany || w.introspects {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			if depth > w.limit.MaxDepth {
				w.tooDeep = true
				return
			}
			if w.limit.NoIntrospection && (s.Name == "__schema" || s.Name == "__type") {
				w.introspects = true
				return
			}
			if group, ok := oncePerOperation[s.Name]; ok && depth == 1 && w.mutation {
				w.once[group]++
			}
			if w.fields++; w.fields > w.limit.MaxFields {
				w.tooMany = true
				return
			}
			w.walk(s.SelectionSet, depth+1)
		case *ast.InlineFragment:
			w.walk(s.SelectionSet, depth)
		case *ast.FragmentSpread:
			if f := w.doc.Fragments.ForName(s.Name); f != nil {
				w.walk(f.SelectionSet, depth)
			}
		}
	}
}

// coded returns a GraphQL error with a flashlive code.
func coded(code, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf(format, args...)
	e.Extensions = map[string]any{"code": code}
	return e
}

// socketSlots counts the live subscriptions of one graphql-transport-ws
// socket.
type socketSlots struct {
	n   atomic.Int32
	max int32
}

type socketSlotsKey struct{}

// withSocketSlots gives each socket that init accepts a count of its
// subscriptions, capped at max (0: no cap).
func withSocketSlots(max int, init socketInit) socketInit {
	return func(ctx context.Context, p map[string]any) (context.Context, error) {
		ctx, err := init(ctx, p)
		if err == nil && max > 0 {
			ctx = context.WithValue(ctx, socketSlotsKey{}, &socketSlots{max: int32(max)})
		}
		return ctx, err
	}
}

// capSubscriptions is an operation middleware that refuses a subscription
// with INVALID when its socket already has its cap of live ones; a slot is
// freed when its subscription ends (completed, stopped or the socket
// closed: gqlgen cancels the subscription's context in every case).
func capSubscriptions(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	slots, _ := ctx.Value(socketSlotsKey{}).(*socketSlots)
	if slots == nil || oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	if slots.n.Add(1) > slots.max {
		slots.n.Add(-1)
		err := coded(domain.EINVALID, "this socket already has %d subscriptions; complete one before starting another", slots.max)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}})
	}
	context.AfterFunc(ctx, func() { slots.n.Add(-1) })
	return next(ctx)
}
