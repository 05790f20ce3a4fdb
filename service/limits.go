package service

import (
	"context"
	"log/slog"
	"time"

	"flashlive/domain"
)

// LimitObserver hears of every request a limit refused: metrics by limit
// name, and strikes towards the blocklist.
type LimitObserver interface {
	Limited(ctx context.Context, limit string)
}

// limiter is what LimitedSale and LimitedAuth share: the limiter, who to
// tell of refusals, and the rule that a limiter failure lets the request
// through (a limiter must not be a second way for the service to fail:
// with Redis gone, the hot stock answers for itself).
type limiter struct {
	Limiter  domain.RateLimiter
	Observer LimitObserver // nil: nobody
	Logger   *slog.Logger
}

// allow charges the checks and returns the wait when one refused (0 when
// the request may go on).
func (l *limiter) allow(ctx context.Context, checks ...domain.LimitCheck) time.Duration {
	v, err := l.Limiter.Allow(ctx, checks...)
	if err != nil {
		l.Logger.WarnContext(ctx, "rate limiter failed; letting the request through", "err", err)
		return 0
	}
	if v.Allowed {
		return 0
	}
	l.refused(ctx, v.Refused)
	return max(v.RetryAfter, time.Millisecond)
}

func (l *limiter) refused(ctx context.Context, limit string) {
	if l.Observer != nil {
		l.Observer.Limited(ctx, limit)
	}
}

// byIP is the check of lim on the request's client address; no address
// (a call from inside the process) is not limited.
func byIP(ctx context.Context, name string, lim domain.Limit) domain.LimitCheck {
	ip, ok := domain.ClientIPFromContext(ctx)
	if !ok {
		return domain.LimitCheck{Name: name}
	}
	return domain.LimitCheck{Name: name, Key: domain.ClientKey(ip), Limit: lim}
}

// SaleLimits are the rates of the flash-sale hot path, per buyer and per
// client address.
type SaleLimits struct {
	PurchaseUser, PurchaseIP domain.Limit
	TokenUser, TokenIP       domain.Limit
}

// LimitedSale is a domain.FlashSaleService that holds each buyer and each
// client address to Limits before the sale runs: one limiter round trip,
// before the hot stock's script. A refused purchase is the outcome
// RATE_LIMITED with RetryAfter; a refused token is a RATE_LIMITED error
// with RetryAfter.
//
// A press the sale can answer from memory (domain.PurchaseShedder: an
// event this instance knows to be sold out, closed or ended) is answered
// before the limiter, and not charged: it costs no more than the limiter
// would (at most one read of the key's kept answer in the hot stock, and
// the mark's re-read once per interval), and a sold-out event's rejects
// then run no script. Every press that can reach the hot stock's script
// is still limited.
type LimitedSale struct {
	domain.FlashSaleService
	Limits   SaleLimits
	Limiter  domain.RateLimiter
	Observer LimitObserver // nil: nobody
	Logger   *slog.Logger
}

var _ domain.FlashSaleService = (*LimitedSale)(nil)

func (s *LimitedSale) lim() *limiter {
	return &limiter{Limiter: s.Limiter, Observer: s.Observer, Logger: s.Logger}
}

// PurchaseToken implements domain.FlashSaleService.
func (s *LimitedSale) PurchaseToken(ctx context.Context, eventID string) (*domain.PurchaseToken, error) {
	if me, ok := domain.PrincipalFromContext(ctx); ok {
		wait := s.lim().allow(ctx,
			domain.LimitCheck{Name: "token-user", Key: me.UserID, Limit: s.Limits.TokenUser},
			byIP(ctx, "token-ip", s.Limits.TokenIP))
		if wait > 0 {
			return nil, domain.RateLimited(wait, "too many purchase tokens asked for; retry in %s", roundUp(wait))
		}
	}
	return s.FlashSaleService.PurchaseToken(ctx, eventID)
}

// Purchase implements domain.FlashSaleService.
func (s *LimitedSale) Purchase(ctx context.Context, r domain.PurchaseRequest) (*domain.PurchaseResult, error) {
	if sh, ok := s.FlashSaleService.(domain.PurchaseShedder); ok {
		if out := sh.ShedPurchase(ctx, r); out != nil {
			return out, nil
		}
	}
	if me, ok := domain.PrincipalFromContext(ctx); ok {
		wait := s.lim().allow(ctx,
			domain.LimitCheck{Name: "purchase-user", Key: me.UserID, Limit: s.Limits.PurchaseUser},
			byIP(ctx, "purchase-ip", s.Limits.PurchaseIP))
		if wait > 0 {
			return &domain.PurchaseResult{Outcome: domain.OutcomeRateLimited, RetryAfter: wait}, nil
		}
	}
	return s.FlashSaleService.Purchase(ctx, r)
}

// AuthLimits are the rates of the account mutations, and the back-off of
// wrong passwords.
type AuthLimits struct {
	LoginIP, LoginEmail domain.Limit
	RegisterIP          domain.Limit
	RefreshIP           domain.Limit
}

// LimitedAuth is a domain.AuthService that holds sign-ups, logins and
// refreshes to Limits per client address (and logins per e-mail), and
// makes wrong passwords cost a growing wait: Backoff counts the failures
// of each e-mail from each address, and a success from an address forgets
// that address's failures. A distributed guesser is bounded by the
// per-e-mail limit; one address guessing cannot lock the owner out from
// another. Refusals are RATE_LIMITED errors with RetryAfter, decided
// before any password is hashed.
type LimitedAuth struct {
	domain.AuthService
	Limits   AuthLimits
	Limiter  domain.RateLimiter
	Backoff  domain.FailureBackoff // nil: no back-off
	Observer LimitObserver         // nil: nobody
	Logger   *slog.Logger
}

var _ domain.AuthService = (*LimitedAuth)(nil)

func (s *LimitedAuth) lim() *limiter {
	return &limiter{Limiter: s.Limiter, Observer: s.Observer, Logger: s.Logger}
}

// Register implements domain.AuthService.
func (s *LimitedAuth) Register(ctx context.Context, r domain.Registration) (*domain.Session, error) {
	if wait := s.lim().allow(ctx, byIP(ctx, "register-ip", s.Limits.RegisterIP)); wait > 0 {
		return nil, domain.RateLimited(wait, "too many sign-ups from this address; retry in %s", roundUp(wait))
	}
	return s.AuthService.Register(ctx, r)
}

// Refresh implements domain.AuthService.
func (s *LimitedAuth) Refresh(ctx context.Context, refreshToken string) (*domain.Session, error) {
	if wait := s.lim().allow(ctx, byIP(ctx, "refresh-ip", s.Limits.RefreshIP)); wait > 0 {
		return nil, domain.RateLimited(wait, "too many refreshes from this address; retry in %s", roundUp(wait))
	}
	return s.AuthService.Refresh(ctx, refreshToken)
}

// Login implements domain.AuthService.
func (s *LimitedAuth) Login(ctx context.Context, email, password string) (*domain.Session, error) {
	who := domain.NormalizeEmail(email)
	failKey := who
	if ip, ok := domain.ClientIPFromContext(ctx); ok {
		failKey = who + "|" + domain.ClientKey(ip)
	}
	if s.Backoff != nil {
		wait, err := s.Backoff.Wait(ctx, failKey)
		if err != nil {
			s.Logger.WarnContext(ctx, "login back-off failed; letting the attempt through", "err", err)
		} else if wait > 0 {
			s.lim().refused(ctx, "login-backoff")
			return nil, domain.RateLimited(wait, "too many wrong passwords; retry in %s", roundUp(wait))
		}
	}
	if wait := s.lim().allow(ctx,
		byIP(ctx, "login-ip", s.Limits.LoginIP),
		domain.LimitCheck{Name: "login-email", Key: who, Limit: s.Limits.LoginEmail},
	); wait > 0 {
		return nil, domain.RateLimited(wait, "too many sign-in attempts; retry in %s", roundUp(wait))
	}
	sess, err := s.AuthService.Login(ctx, email, password)
	if s.Backoff == nil {
		return sess, err
	}
	var berr error
	switch domain.ErrorCode(err) {
	case "":
		berr = s.Backoff.Reset(ctx, failKey)
	case domain.EUNAUTHENTICATED:
		berr = s.Backoff.Failed(ctx, failKey)
	}
	if berr != nil {
		s.Logger.WarnContext(ctx, "login back-off not recorded", "err", berr)
	}
	return sess, err
}

// roundUp is a wait as a person reads it: whole seconds, at least one.
func roundUp(d time.Duration) time.Duration {
	return max(d.Round(time.Second), time.Second)
}
