package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"flashlive/domain"
)

// DefaultRefreshTTL is how long an unused refresh token stays valid.
const DefaultRefreshTTL = 30 * 24 * time.Hour

// refreshPrefix marks flashlive's refresh tokens.
const refreshPrefix = "rt_"

// AuthService implements domain.AuthService and domain.UserService: users
// and refresh tokens live in PostgreSQL; passwords and access tokens are
// handled by the injected Hasher and Tokens. A session is a refresh-token
// family: its access tokens name it, and once it is revoked (Logout, or
// Refresh seeing a used token again) Authenticate refuses them, on this
// instance at once and on the others as they hear of it (SessionRevoked,
// SyncRevocations).
type AuthService struct {
	// Revocations is told of every session revoked here; never nil
	// (domain.NopNotifier for nobody). Set it before serving.
	Revocations domain.RevocationNotifier

	db         *DB
	hasher     domain.PasswordHasher
	tokens     domain.AccessTokens
	refreshTTL time.Duration
	revoked    revocations

	dummyMu sync.Mutex
	dummy   string // a hash to verify against when the email is unknown
}

var (
	_ domain.AuthService = (*AuthService)(nil)
	_ domain.UserService = (*AuthService)(nil)
)

// NewAuthService returns an AuthService on db. refreshTTL <= 0 means
// DefaultRefreshTTL.
func NewAuthService(db *DB, hasher domain.PasswordHasher, tokens domain.AccessTokens, refreshTTL time.Duration) *AuthService {
	if refreshTTL <= 0 {
		refreshTTL = DefaultRefreshTTL
	}
	return &AuthService{db: db, hasher: hasher, tokens: tokens, refreshTTL: refreshTTL, Revocations: domain.NopNotifier{}}
}

const userColumns = `id, email, display_name, role, created_at`

func scanUser(row pgx.Row) (*domain.User, error) {
	var u domain.User
	err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.CreatedAt)
	return &u, err
}

// Register implements domain.AuthService.
func (s *AuthService) Register(ctx context.Context, r domain.Registration) (*domain.Session, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	u, err := s.insertUser(ctx, r, r.Role)
	if err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			return nil, domain.Errorf(domain.ECONFLICT, "an account with this email already exists")
		}
		return nil, err
	}
	return s.newSession(ctx, s.db.Pool, u, "")
}

// CreateUser creates an account with any role, ADMIN included, without
// signing it in. It is for operators and seeding, not for clients.
func (s *AuthService) CreateUser(ctx context.Context, r domain.Registration) (*domain.User, error) {
	r.Normalize()
	role := r.Role
	r.Role = domain.RoleBuyer // Validate admits only self-service roles
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "unknown role %q", role)
	}
	return s.insertUser(ctx, r, role)
}

// insertUser hashes r's password and inserts the account with role; r is
// validated already. CONFLICT when the email is taken.
func (s *AuthService) insertUser(ctx context.Context, r domain.Registration, role domain.Role) (*domain.User, error) {
	hash, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return nil, err
	}
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `
		INSERT INTO users (id, email, display_name, role, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+userColumns,
		newID(domain.PrefixUser), r.Email, r.DisplayName, role, hash, s.db.Now()))
	if err != nil {
		return nil, translate(err, "insert user", "user")
	}
	return u, nil
}

// Login implements domain.AuthService.
func (s *AuthService) Login(ctx context.Context, email, password string) (*domain.Session, error) {
	wrong := domain.Errorf(domain.EUNAUTHENTICATED, "wrong email or password")
	email = domain.NormalizeEmail(email)
	if email == "" || password == "" || len(email) > domain.MaxEmailLen || len(password) > 4*domain.MaxPasswordLen {
		return nil, wrong
	}
	var hash string
	var u domain.User
	err := s.db.Pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email).
		Scan(&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the same time as for a known email, so that timing does
		// not tell which emails have accounts.
		dummy, err := s.dummyHash(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := s.hasher.Verify(ctx, password, dummy); err != nil {
			return nil, err
		}
		return nil, wrong
	} else if err != nil {
		return nil, translate(err, "find user by email", "user")
	}
	ok, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, wrong
	}
	return s.newSession(ctx, s.db.Pool, &u, "")
}

// dummyHash returns a hash to verify unknown emails against, made on first
// use. A failure to make it (the hasher busy) is returned and retried by
// the next caller, never remembered.
func (s *AuthService) dummyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		h, err := s.hasher.Hash(ctx, "flashlive-no-such-user")
		if err != nil {
			return "", err
		}
		s.dummy = h
	}
	return s.dummy, nil
}

// Refresh implements domain.AuthService.
func (s *AuthService) Refresh(ctx context.Context, token string) (*domain.Session, error) {
	invalid := domain.Errorf(domain.EUNAUTHENTICATED, "the refresh token is not valid; sign in again")
	if !strings.HasPrefix(token, refreshPrefix) || len(token) > 128 {
		return nil, invalid
	}
	var sess *domain.Session
	var reused *domain.Revocation
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var familyID, userID string
		var expiresAt time.Time
		var usedAt, revokedAt *time.Time
		err := tx.QueryRow(ctx, `
			SELECT family_id, user_id, expires_at, used_at, revoked_at
			FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, hashToken(token)).
			Scan(&familyID, &userID, &expiresAt, &usedAt, &revokedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return invalid
		} else if err != nil {
			return translate(err, "find refresh token", "refresh token")
		}
		now := s.db.Now()
		switch {
		case revokedAt != nil:
			return invalid
		case usedAt != nil:
			// A used token came back: someone holds a copy. Revoke the
			// family, commit that, and refuse.
			reused = &domain.Revocation{UserID: userID, SessionID: familyID, At: now}
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2
				WHERE family_id = $1 AND revoked_at IS NULL`, familyID, now)
			return translate(err, "revoke refresh family", "refresh token")
		case !now.Before(expiresAt):
			return invalid
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, hashToken(token), now); err != nil {
			return translate(err, "use refresh token", "refresh token")
		}
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		if err != nil {
			return translate(err, "find user", "user")
		}
		sess, err = s.newSession(ctx, tx, u, familyID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused != nil {
		s.revoke(*reused)
		return nil, domain.Errorf(domain.EUNAUTHENTICATED, "this refresh token was already used; every session from the same sign-in is now signed out")
	}
	return sess, nil
}

// Logout implements domain.AuthService. A session it revokes is told to
// Revocations.
func (s *AuthService) Logout(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, refreshPrefix) || len(token) > 128 {
		return nil
	}
	r := domain.Revocation{At: s.db.Now()}
	err := s.db.Pool.QueryRow(ctx, `
		UPDATE refresh_tokens SET revoked_at = $2
		WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
		  AND revoked_at IS NULL
		RETURNING user_id, family_id`, hashToken(token), r.At).Scan(&r.UserID, &r.SessionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // unknown, or revoked already
	} else if err != nil {
		return translate(err, "revoke refresh family", "refresh token")
	}
	s.revoke(r)
	return nil
}

// Authenticate implements domain.AuthService. It reads no database: a
// revoked session is looked up in what this instance knows (see
// SyncRevocations). A token that names no session (issued before tokens
// named one) is taken until it expires.
func (s *AuthService) Authenticate(_ context.Context, accessToken string) (domain.Principal, error) {
	p, err := s.tokens.Verify(accessToken)
	if err != nil {
		return p, err
	}
	if p.SessionID != "" && s.revoked.revoked(p.SessionID) {
		return domain.Principal{}, domain.Errorf(domain.EUNAUTHENTICATED, "this session has ended (signed out); sign in again")
	}
	return p, nil
}

// DeleteExpiredRefreshTokens deletes refresh tokens that expired before
// cutoff, and returns how many it deleted.
func (s *AuthService) DeleteExpiredRefreshTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.db.Pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, translate(err, "delete expired refresh tokens", "refresh token")
	}
	return tag.RowsAffected(), nil
}

// FindUserByID implements domain.UserService.
func (s *AuthService) FindUserByID(ctx context.Context, id string) (*domain.User, error) {
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, translate(err, "find user", "user")
}

// FindUsersByIDs implements domain.UserService.
func (s *AuthService) FindUsersByIDs(ctx context.Context, ids []string) ([]*domain.User, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, translate(err, "find users", "user")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.User, error) { return scanUser(r) })
	return users, translate(err, "find users", "user")
}

// execer is what both a pool and a transaction offer.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// newSession stores a new refresh token for u in family (a new family when
// empty) and issues an access token.
func (s *AuthService) newSession(ctx context.Context, q execer, u *domain.User, family string) (*domain.Session, error) {
	if family == "" {
		family = newID("fam_")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	refresh := refreshPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.db.Now()
	if _, err := q.Exec(ctx, `
		INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5)`, hashToken(refresh), family, u.ID, now.Add(s.refreshTTL), now); err != nil {
		return nil, translate(err, "insert refresh token", "refresh token")
	}
	access, exp, err := s.tokens.Issue(domain.Principal{UserID: u.ID, Role: u.Role, SessionID: family})
	if err != nil {
		return nil, err
	}
	return &domain.Session{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, User: u}, nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
