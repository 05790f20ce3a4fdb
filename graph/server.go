package graph

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"flashlive/domain"
)

// Limits bound what one GraphQL request may cost. Zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	// MaxDepth is the deepest nesting of fields.
	MaxDepth int
	// MaxFields is the number of fields selected in all, aliases included.
	MaxFields int
	// MaxComplexity is gqlgen's complexity, with lists weighted by first.
	MaxComplexity int
	// MaxTokens is the parser's token limit.
	MaxTokens int
}

// DefaultLimits fit every query the demo page and the contract's clients
// send, with room to spare.
var DefaultLimits = Limits{MaxDepth: 12, MaxFields: 400, MaxComplexity: 5000, MaxTokens: 10_000}

// Options configure NewHandler.
type Options struct {
	// Dev turns on introspection and "did you mean" suggestions.
	Dev    bool
	Limits Limits
	Logger *slog.Logger
	// Authenticate checks the access token of a subscription, sent in the
	// connection_init payload as "Authorization: Bearer <token>".
	Authenticate func(ctx context.Context, token string) (domain.Principal, error)
	// Sessions closes a subscription socket with 4403 once the token it
	// was opened with expires or its session is revoked (nil: never).
	Sessions SessionWatcher
	// OriginPatterns are the host patterns (such as "shop.example.com" or
	// "localhost:*") whose pages may open subscriptions besides the
	// server's own origin.
	OriginPatterns []string
	// OperationTimeout bounds every query and mutation, from parse to
	// answer (DefaultOperationTimeout when zero); what runs past it
	// answers UNAVAILABLE with a retry-after. Subscriptions are not bounded:
	// they last as long as their socket.
	OperationTimeout time.Duration
	// MaxSubscriptionsPerSocket caps the live subscriptions of one
	// graphql-transport-ws socket (0: no cap); one more is refused with
	// INVALID.
	MaxSubscriptionsPerSocket int
	// InitTimeout is how long a subscription socket may wait before its
	// connection_init (DefaultInitTimeout when zero); then it closes with
	// 4408.
	InitTimeout time.Duration
	// Sockets is told when subscription sockets open and close (nil: no
	// one).
	Sockets SocketObserver
	// OnOperation is told the name of every operation as it starts, with
	// its context (nil: no one).
	OnOperation func(ctx context.Context, name string)
}

// DefaultOperationTimeout is the deadline of a query or mutation when
// Options.OperationTimeout is zero.
const DefaultOperationTimeout = 10 * time.Second

// NewHandler returns the /graphql HTTP handler: POST JSON, GET for queries
// only, an LRU cache of parsed queries, the shape and complexity limits, the
// error presenter, and per-request loaders. It reads the caller from the
// request context (see domain.PrincipalFromContext); authentication is the
// HTTP middleware's job.
func NewHandler(r *Resolver, o Options) http.Handler {
	lim := o.Limits
	def := DefaultLimits
	lim.MaxDepth = or(lim.MaxDepth, def.MaxDepth)
	lim.MaxFields = or(lim.MaxFields, def.MaxFields)
	lim.MaxComplexity = or(lim.MaxComplexity, def.MaxComplexity)
	lim.MaxTokens = or(lim.MaxTokens, def.MaxTokens)
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}

	cfg := Config{Resolvers: r}
	cfg.Directives.HasRole = hasRole
	setComplexity(&cfg.Complexity)

	srv := handler.New(NewExecutableSchema(cfg))
	srv.AddTransport(socketTransport{
		accept:      coderws.AcceptOptions{OriginPatterns: o.OriginPatterns},
		initTimeout: o.InitTimeout,
		init:        withSocketSlots(o.MaxSubscriptionsPerSocket, initSubscription(o.Authenticate, o.Sessions)),
		logger:      logger,
		observer:    o.Sockets,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.AutomaticPersistedQuery{Cache: newQueryStore()})
	srv.SetParserTokenLimit(lim.MaxTokens)
	srv.SetDisableSuggestion(!o.Dev)
	if o.Dev {
		srv.Use(extension.Introspection{})
	}
	srv.Use(shapeLimit{MaxDepth: lim.MaxDepth, MaxFields: lim.MaxFields, NoIntrospection: !o.Dev})
	srv.Use(extension.FixedComplexityLimit(lim.MaxComplexity))
	srv.AroundOperations(operationDeadline(o.OperationTimeout))
	srv.AroundOperations(capSubscriptions)
	if o.OnOperation != nil {
		srv.AroundOperations(tellOperations(o.OnOperation))
	}
	srv.AroundFields(markInternal)
	srv.SetErrorPresenter(errorPresenter(logger))
	srv.SetRecoverFunc(recoverFunc(logger))
	return r.withLoaders(srv)
}

// operationDeadline gives every query and mutation a context that ends
// after d (DefaultOperationTimeout when d is zero).
func operationDeadline(d time.Duration) graphql.OperationMiddleware {
	if d <= 0 {
		d = DefaultOperationTimeout
	}
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		h := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			defer cancel()
			return h(ctx)
		}
	}
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// hasRole implements @hasRole: the caller must have one of roles (ADMIN
// passes).
func hasRole(ctx context.Context, _ any, next graphql.Resolver, roles []domain.Role) (any, error) {
	if _, err := domain.RequireRole(ctx, roles...); err != nil {
		return nil, err
	}
	return next(ctx)
}

// initSubscription authenticates a graphql-transport-ws connection from
// its connection_init payload. No token: an anonymous subscriber. A bad
// token closes the socket with 4403, so that a client asks for a new token
// instead of retrying; so does the end of a good one's sign-in, later
// (see watchSession).
func initSubscription(authenticate func(context.Context, string) (domain.Principal, error), sessions SessionWatcher) func(context.Context, map[string]any) (context.Context, error) {
	return func(ctx context.Context, p map[string]any) (context.Context, error) {
		h := transport.InitPayload(p).Authorization()
		if h == "" {
			return ctx, nil
		}
		token, ok := strings.CutPrefix(h, "Bearer ")
		var err error
		var who domain.Principal
		if !ok || authenticate == nil {
			err = domain.Errorf(domain.EUNAUTHENTICATED, "the Authorization must be 'Bearer <accessToken>'")
		} else {
			who, err = authenticate(ctx, strings.TrimSpace(token))
		}
		if err == nil && sessions != nil {
			err = watchSession(ctx, sessions, who, func() error {
				_, err := authenticate(ctx, strings.TrimSpace(token))
				return err
			})
		}
		if err != nil {
			return ctx, err // the socket closes with 4403
		}
		return domain.NewContextWithPrincipal(ctx, who), nil
	}
}

// watchSession has sessions close the request's socket with 4403 when
// who's sign-in ends, until the connection ends. recheck checks the token
// once more after the watch is set: a revocation that came between the
// first check and the watch would otherwise be missed.
func watchSession(ctx context.Context, sessions SessionWatcher, who domain.Principal, recheck func() error) error {
	ref, ok := ctx.Value(socketRefKey{}).(*socketRef)
	if !ok {
		return nil // not one of our sockets (a test transport): nothing to close
	}
	stop := sessions.WatchSession(who, func(reason string) {
		ref.close(CloseForbidden, "Forbidden: "+reason)
	})
	if err := recheck(); err != nil {
		stop()
		return err
	}
	// The request's context ends when the connection does.
	context.AfterFunc(ctx, func() { stop() })
	return nil
}

// closeReason cuts s to the 123 bytes a close frame's reason may have.
func closeReason(s string) string {
	if len(s) > 123 {
		return s[:123]
	}
	return s
}

// socketRef lets watchSession close the socket of a subscription
// request's context.
type socketRef struct{ close func(code int, reason string) }

type socketRefKey struct{}

// setComplexity weights list fields by how many items they may return.
func setComplexity(c *ComplexityRoot) {
	page := func(child int, first *int) int {
		n := domain.DefaultPageSize
		if first != nil {
			n = min(max(*first, 0), domain.MaxPageSize)
		}
		return 1 + n*child
	}
	c.Query.Products = func(child int, first *int, _ *string) int { return page(child, first) }
	c.Query.LiveRooms = func(child int, _ *domain.LiveRoomStatus, first *int, _ *string) int { return page(child, first) }
	c.Query.FlashEvents = func(child int, _ *domain.FlashEventStatus, first *int, _ *string) int { return page(child, first) }
	c.Query.MyOrders = func(child int, _ *domain.OrderStatus, first *int, _ *string) int { return page(child, first) }
	c.Query.SellerOrders = func(child int, _ *string, _ *domain.OrderStatus, first *int, _ *string) int {
		return page(child, first)
	}
	// A room pins a handful of events; count ten.
	c.LiveRoom.FlashEvents = func(child int) int { return 1 + 10*child }
}
