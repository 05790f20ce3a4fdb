package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

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
		case isRequestError(err):
			// Made by gqlgen or gqlparser about the request itself: a parse
			// or validation failure, a bad argument value, a limit.
			code, _ := gerr.Extensions["code"].(string)
			if !isOurCode(code) {
				gerr.Extensions = map[string]any{"code": domain.EINVALID}
			}
		default:
			logger.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gerr.Path.String())
			gerr.Message = "internal error"
			gerr.Extensions = map[string]any{"code": domain.EINTERNAL}
		}
		gerr.Err = nil
		return gerr
	}
}

// isRequestError reports whether err was made by gqlgen about the request.
// Resolvers return plain or domain errors; only gqlgen hands the presenter
// a *gqlerror.Error itself.
func isRequestError(err error) bool {
	_, ok := err.(*gqlerror.Error)
	return ok
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
