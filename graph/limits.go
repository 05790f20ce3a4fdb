package graph

import (
	"context"

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
	w := shapeWalker{limit: l, doc: oc.Doc}
	w.walk(oc.Operation.SelectionSet, 1)
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
