package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"flashlive/domain"
)

// errorPresenter turns any error into what a client may see: a
// domain.Error keeps its message and code; an error of GraphQL itself
// (parse, validation, coercion, limits) is INVALID with gqlgen's message;
// anything else is INTERNAL "internal error", and its cause is logged with
// the request ID.
func errorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var de *domain.Error
		switch {
		case errors.As(err, &de):
			gerr.Message = de.Message
			gerr.Extensions = map[string]any{"code": de.Code}
			if de.RetryAfter > 0 {
				gerr.Extensions["retryAfterMs"] = RetryAfterMs(de.RetryAfter)
			}
		case errors.As(err, new(*internalError)):
			logger.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gerr.Path.String())
			gerr.Message = "internal error"
			gerr.Extensions = map[string]any{"code": domain.EINTERNAL}
		default:
			// Made by gqlgen or gqlparser about the request itself: a parse
			// or validation failure, a bad argument value, a limit.
			code, _ := gerr.Extensions["code"].(string)
			if code == persistedQueryNotFoundCode {
				// Apollo's clients act on it: they send the query.
				gerr.Extensions = map[string]any{"code": code}
			} else if !isOurCode(code) {
				gerr.Extensions = map[string]any{"code": domain.EINVALID}
			}
		}
		gerr.Err = nil
		return gerr
	}
}

// persistedQueryNotFoundCode is the code gqlgen and Apollo give an
// automatic persisted query whose hash the server does not know.
const persistedQueryNotFoundCode = "PERSISTED_QUERY_NOT_FOUND"

// internalError marks an error a resolver returned that is not a
// domain.Error: a failure of ours, never shown to the client.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// markInternal is a field middleware that marks every non-domain error of
// a resolver as internal, so that the presenter can tell them from errors
// gqlgen makes about the request (bad argument values), which it shows.
func markInternal(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil && !errors.As(err, new(*domain.Error)) && errors.Is(err, context.DeadlineExceeded) {
		// The operation's deadline (or a store's own timeout) passed.
		return res, domain.Retry(domain.EUNAVAILABLE, time.Second, "the request took too long; try again in a moment")
	}
	if err != nil && !errors.As(err, new(*domain.Error)) && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away (or the server is stopping): no one reads
		// this answer, and nothing of ours failed, so it is not logged as
		// an internal error.
		return res, domain.Errorf(domain.EUNAVAILABLE, "the request was cancelled")
	}
	if err != nil && !errors.As(err, new(*domain.Error)) && !errors.As(err, new(*internalError)) &&
		!errors.As(err, new(*gqlerror.Error)) { // gqlgen's own, such as "introspection disabled"
		err = &internalError{err}
	}
	return res, err
}

func isOurCode(code string) bool {
	switch code {
	case domain.EINVALID, domain.EUNAUTHENTICATED, domain.EFORBIDDEN, domain.ENOTFOUND,
		domain.ECONFLICT, domain.ERATELIMITED, domain.EUNAVAILABLE, domain.EINTERNAL:
		return true
	}
	return false
}

// recoverFunc logs a panic in a resolver with its stack and answers
// INTERNAL.
func recoverFunc(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "graphql: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return domain.Errorf(domain.EINTERNAL, "internal error")
	}
}

// RetryAfterMs is a wait as clients read it: whole milliseconds, rounded
// up, so that a client that waits exactly that long is let in.
func RetryAfterMs(d time.Duration) int {
	return int((d + time.Millisecond - 1) / time.Millisecond)
}
