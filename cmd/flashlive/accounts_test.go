package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	registerMutation = `mutation($in: RegisterInput!) { register(input: $in) { ` + sessionFields + ` } }`
	loginMutation    = `mutation($in: LoginInput!) { login(input: $in) { ` + sessionFields + ` } }`
	refreshMutation  = `mutation($t: String!) { refreshToken(refreshToken: $t) { ` + sessionFields + ` } }`
	meQuery          = `{ me { id email role displayName } }`
)

func TestRegisterLoginRefreshLogout(t *testing.T) {
	app := startApp(t, nil)
	anon := app.anon()

	var reg struct{ Register session }
	anon.must(t, registerMutation, map[string]any{"in": map[string]any{
		"email": "  Alice@Example.COM ", "password": "s3cret-enough", "displayName": " Alice ",
	}}, &reg)
	if got, want := reg.Register.User.Email, "alice@example.com"; got != want {
		t.Fatalf("email = %q, want %q (normalised)", got, want)
	}
	if got, want := reg.Register.User.Role, "BUYER"; got != want {
		t.Fatalf("default role = %q, want %q", got, want)
	}
	if got, want := reg.Register.User.DisplayName, "Alice"; got != want {
		t.Fatalf("displayName = %q, want %q", got, want)
	}
	exp, err := time.Parse(time.RFC3339, reg.Register.ExpiresAt)
	if err != nil || exp.Before(time.Now().Add(10*time.Minute)) || exp.After(time.Now().Add(16*time.Minute)) {
		t.Fatalf("expiresAt = %q, want about 15 minutes from now", reg.Register.ExpiresAt)
	}

	// The same address in another spelling is taken.
	anon.wantCode(t, "CONFLICT", registerMutation, map[string]any{"in": map[string]any{
		"email": "alice@example.com", "password": "another-password", "displayName": "Alice 2",
	}})

	// me, with the access token.
	alice := &client{app: app, token: reg.Register.AccessToken}
	var me struct {
		Me struct{ ID, Email, Role string }
	}
	alice.must(t, meQuery, nil, &me)
	if got, want := me.Me.ID, reg.Register.User.ID; got != want {
		t.Fatalf("me.id = %q, want %q", got, want)
	}
	var anonMe struct{ Me *struct{ ID string } }
	anon.must(t, meQuery, nil, &anonMe)
	if anonMe.Me != nil {
		t.Fatalf("anonymous me = %+v, want null", anonMe.Me)
	}

	// Wrong password and unknown email fail alike.
	r1 := anon.wantCode(t, "UNAUTHENTICATED", loginMutation, map[string]any{"in": map[string]any{"email": "alice@example.com", "password": "wrong-password"}})
	r2 := anon.wantCode(t, "UNAUTHENTICATED", loginMutation, map[string]any{"in": map[string]any{"email": "nobody@example.com", "password": "wrong-password"}})
	if r1.Errors[0].Message != r2.Errors[0].Message {
		t.Fatalf("wrong password says %q, unknown email says %q: they must not differ", r1.Errors[0].Message, r2.Errors[0].Message)
	}
	var login struct{ Login session }
	anon.must(t, loginMutation, map[string]any{"in": map[string]any{"email": "ALICE@example.com", "password": "s3cret-enough"}}, &login)

	// Refresh rotates: the new token works once, the old one never again.
	var r struct{ RefreshToken session }
	anon.must(t, refreshMutation, map[string]any{"t": login.Login.RefreshToken}, &r)
	if r.RefreshToken.RefreshToken == login.Login.RefreshToken {
		t.Fatal("refresh returned the same refresh token")
	}
	rotated := r.RefreshToken.RefreshToken
	(&client{app: app, token: r.RefreshToken.AccessToken}).must(t, meQuery, nil, nil)

	// Reuse of the old token is theft: it fails and revokes the family,
	// so the rotated token dies too.
	anon.wantCode(t, "UNAUTHENTICATED", refreshMutation, map[string]any{"t": login.Login.RefreshToken})
	anon.wantCode(t, "UNAUTHENTICATED", refreshMutation, map[string]any{"t": rotated})

	// Another family (the registration's session) is untouched; logout ends it.
	var r3 struct{ RefreshToken session }
	anon.must(t, refreshMutation, map[string]any{"t": reg.Register.RefreshToken}, &r3)
	var out struct{ Logout bool }
	anon.must(t, `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": r3.RefreshToken.RefreshToken}, &out)
	if !out.Logout {
		t.Fatal("logout = false, want true")
	}
	anon.wantCode(t, "UNAUTHENTICATED", refreshMutation, map[string]any{"t": r3.RefreshToken.RefreshToken})
	// Logging out twice, or with garbage, is harmless.
	anon.must(t, `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": r3.RefreshToken.RefreshToken}, nil)
	anon.must(t, `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": "garbage"}, nil)
	anon.wantCode(t, "UNAUTHENTICATED", refreshMutation, map[string]any{"t": "rt_not-a-token"})
}

func TestRegisterValidation(t *testing.T) {
	app := startApp(t, nil)
	anon := app.anon()
	long := strings.Repeat("x", 250) + "@example.com"
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string // a word the message must contain
	}{
		{"bad email", map[string]any{"email": "not-an-email", "password": "long-enough", "displayName": "A"}, "email"},
		{"long email", map[string]any{"email": long, "password": "long-enough", "displayName": "A"}, "email"},
		{"short password", map[string]any{"email": "a@example.com", "password": "short", "displayName": "A"}, "password"},
		{"long password", map[string]any{"email": "a@example.com", "password": strings.Repeat("p", 129), "displayName": "A"}, "password"},
		{"empty name", map[string]any{"email": "a@example.com", "password": "long-enough", "displayName": "   "}, "displayName"},
		{"long name", map[string]any{"email": "a@example.com", "password": "long-enough", "displayName": strings.Repeat("n", 65)}, "displayName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := anon.wantCode(t, "INVALID", registerMutation, map[string]any{"in": tc.in})
			if !strings.Contains(r.Errors[0].Message, tc.want) {
				t.Fatalf("message %q does not name %q", r.Errors[0].Message, tc.want)
			}
		})
	}
	// ADMIN is not a role one can register with: the schema's RegisterRole has no such value.
	anon.wantCode(t, "INVALID", registerMutation, map[string]any{"in": map[string]any{
		"email": "a@example.com", "password": "long-enough", "displayName": "A", "role": "ADMIN"}})
}

func TestAccessTokens(t *testing.T) {
	app := startApp(t, nil)
	buyer, sess := app.register(t, "BUYER")
	buyer.must(t, meQuery, nil, nil)

	bad := func(name, token string) {
		t.Helper()
		r := (&client{app: app, token: token}).post(t, meQuery, nil)
		if got, want := r.Status, 401; got != want {
			t.Fatalf("%s: status = %d, want %d", name, got, want)
		}
		if got, want := r.code(), "UNAUTHENTICATED"; got != want {
			t.Fatalf("%s: code = %q, want %q", name, got, want)
		}
	}

	parts := strings.Split(sess.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}

	// Tampered: the role raised to ADMIN, signature kept.
	claims["role"] = "ADMIN"
	forged, _ := json.Marshal(claims)
	bad("tampered", parts[0]+"."+base64.RawURLEncoding.EncodeToString(forged)+"."+parts[2])

	// alg none.
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	bad("alg none", none)

	// Signed with another secret.
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte("another-secret-another-secret-another"))
	bad("foreign secret", other)

	bad("garbage", "not.a.jwt")
	r := (&client{app: app}).raw(t, "application/json", []byte(`{"query":"{ me { id } }"}`))
	if r.Status != 200 {
		t.Fatalf("no token: status %d, want 200", r.Status)
	}

	// Expired: the server's clock moves past the token's 15 minutes.
	app.Clock.Advance(16 * time.Minute)
	bad("expired", sess.AccessToken)
	rr := (&client{app: app, token: sess.AccessToken}).post(t, meQuery, nil)
	if !strings.Contains(rr.Errors[0].Message, "expired") {
		t.Fatalf("expired token message = %q, want it to say expired", rr.Errors[0].Message)
	}
	// A refresh still works and yields a token valid at the new time.
	var out struct{ RefreshToken session }
	app.anon().must(t, refreshMutation, map[string]any{"t": sess.RefreshToken}, &out)
	(&client{app: app, token: out.RefreshToken.AccessToken}).must(t, meQuery, nil, nil)
}
