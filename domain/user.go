package domain

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. It is fixed at registration.
type Role string

// The roles. Anyone may register as a BUYER or a SELLER; ADMIN is granted by
// an operator only.
const (
	RoleBuyer  Role = "BUYER"
	RoleSeller Role = "SELLER"
	RoleAdmin  Role = "ADMIN"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleBuyer || r == RoleSeller || r == RoleAdmin
}

// User is an account.
type User struct {
	ID          string
	Email       string
	DisplayName string
	Role        Role
	CreatedAt   time.Time
}

// Limits on account fields, in characters.
const (
	MaxEmailLen       = 254
	MinPasswordLen    = 8
	MaxPasswordLen    = 128
	MaxDisplayNameLen = 64
)

// Registration is the input of AuthService.Register.
type Registration struct {
	Email       string
	Password    string
	DisplayName string
	Role        Role
}

// Normalize trims the registration's fields and lower-cases its email, so
// that one address maps to one account whatever its spelling.
func (r *Registration) Normalize() {
	r.Email = NormalizeEmail(r.Email)
	r.DisplayName = strings.TrimSpace(r.DisplayName)
}

// Validate returns an INVALID error naming the first bad field, or nil.
// Call Normalize first.
func (r *Registration) Validate() error {
	if err := ValidateEmail(r.Email); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(r.Password); n < MinPasswordLen {
		return Errorf(EINVALID, "password must have at least %d characters", MinPasswordLen)
	} else if n > MaxPasswordLen {
		return Errorf(EINVALID, "password must have at most %d characters", MaxPasswordLen)
	}
	if err := validateText("displayName", r.DisplayName, 1, MaxDisplayNameLen); err != nil {
		return err
	}
	if r.Role != RoleBuyer && r.Role != RoleSeller {
		return Errorf(EINVALID, "role must be BUYER or SELLER")
	}
	return nil
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidateEmail returns an INVALID error unless email is one plain address of
// at most MaxEmailLen characters.
func ValidateEmail(email string) error {
	if email == "" {
		return Errorf(EINVALID, "email is required")
	}
	if len(email) > MaxEmailLen {
		return Errorf(EINVALID, "email must have at most %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return Errorf(EINVALID, "email is not a valid address")
	}
	return nil
}

// Session is what a successful register, login or refresh returns: a
// short-lived access token and a refresh token that can be used once.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	User         *User
}

// AuthService manages accounts and their sessions.
type AuthService interface {
	// Register creates an account and signs it in. INVALID for a bad field,
	// CONFLICT when the email is taken.
	Register(ctx context.Context, r Registration) (*Session, error)

	// Login signs in with email and password. UNAUTHENTICATED when either is
	// wrong (the message does not tell which).
	Login(ctx context.Context, email, password string) (*Session, error)

	// Refresh trades a refresh token for a new session; the token cannot be
	// used again. Presenting a token that was already used revokes its whole
	// family (every session descended from the same login) and returns
	// UNAUTHENTICATED, as do unknown, expired and revoked tokens.
	Refresh(ctx context.Context, refreshToken string) (*Session, error)

	// Logout revokes the refresh token's family. It is idempotent: unknown
	// or already revoked tokens are not an error.
	Logout(ctx context.Context, refreshToken string) error

	// Authenticate checks an access token and returns its principal.
	// UNAUTHENTICATED when the token is malformed, forged, expired, not
	// ours, or of a session that was revoked (by Logout, or by Refresh
	// seeing a used token again) on any instance.
	Authenticate(ctx context.Context, accessToken string) (Principal, error)
}

// Revocation is a session that ended before its access tokens expired:
// its user logged out, or one of its refresh tokens came back after use.
// None of the session's tokens is accepted again.
type Revocation struct {
	UserID    string
	SessionID string
	At        time.Time // when it was revoked
}

// RevocationNotifier is told of revoked sessions, so that what their
// tokens opened (live connections, subscriptions) ends with them.
// Implementations never block and never fail the caller.
type RevocationNotifier interface {
	SessionRevoked(r Revocation)
}

// UserService reads accounts.
type UserService interface {
	// FindUserByID returns the user; NOT_FOUND when there is none.
	FindUserByID(ctx context.Context, id string) (*User, error)

	// FindUsersByIDs returns the users that exist among ids, in no order.
	FindUsersByIDs(ctx context.Context, ids []string) ([]*User, error)
}

// PasswordHasher turns passwords into slow, salted hashes and checks them.
type PasswordHasher interface {
	// Hash returns an encoded hash of password. UNAVAILABLE when too many
	// hashes are being computed and ctx ends before a slot frees.
	Hash(ctx context.Context, password string) (string, error)

	// Verify reports whether password matches the encoded hash, with the
	// same UNAVAILABLE rule as Hash.
	Verify(ctx context.Context, password, encoded string) (bool, error)
}

// AccessTokens issues and checks signed, short-lived access tokens.
type AccessTokens interface {
	// Issue returns a token for p and its expiry.
	Issue(p Principal) (token string, expiresAt time.Time, err error)

	// Verify returns the principal of a token; UNAUTHENTICATED for any
	// token that is not valid now.
	Verify(token string) (Principal, error)

	// MaxAge is the longest a token is accepted after it was issued: once
	// a session has been revoked for MaxAge, none of its tokens is left.
	MaxAge() time.Duration
}
