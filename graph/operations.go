package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// tellOperations is an operation middleware that tells tell the name of
// each operation as it starts (its type when it has no name), with the
// operation's context: for the access log.
func tellOperations(tell func(ctx context.Context, name string)) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		tell(ctx, operationName(graphql.GetOperationContext(ctx)))
		return next(ctx)
	}
}
