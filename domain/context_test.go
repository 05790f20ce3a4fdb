package domain_test

import (
	"context"
	"fmt"
	"testing"

	"flashlive/domain"
)

var (
	aBuyer  = domain.Principal{UserID: "usr_buyer", Role: domain.RoleBuyer}
	aSeller = domain.Principal{UserID: "usr_seller", Role: domain.RoleSeller}
	anAdmin = domain.Principal{UserID: "usr_admin", Role: domain.RoleAdmin}
)

func TestPrincipalFromContext(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		want   domain.Principal
		wantOK bool
	}{
		{"anonymous", context.Background(), domain.Principal{}, false},
		{"buyer", domain.NewContextWithPrincipal(context.Background(), aBuyer), aBuyer, true},
		{"admin", domain.NewContextWithPrincipal(context.Background(), anAdmin), anAdmin, true},
		{"principal without a user ID is anonymous", domain.NewContextWithPrincipal(context.Background(), domain.Principal{Role: domain.RoleAdmin}), domain.Principal{Role: domain.RoleAdmin}, false},
		{"a request ID is not a principal", domain.NewContextWithRequestID(context.Background(), "req-1"), domain.Principal{}, false},
		{"survives other values", domain.NewContextWithRequestID(domain.NewContextWithPrincipal(context.Background(), aSeller), "req-1"), aSeller, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := domain.PrincipalFromContext(tt.ctx)
			if ok != tt.wantOK {
				t.Fatalf("PrincipalFromContext ok = %v, want %v", ok, tt.wantOK)
			}
			if got != tt.want {
				t.Fatalf("PrincipalFromContext = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequirePrincipal(t *testing.T) {
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		want     domain.Principal
		wantCode string
	}{
		{"anonymous", context.Background(), domain.Principal{}, domain.EUNAUTHENTICATED},
		{"empty user ID", domain.NewContextWithPrincipal(context.Background(), domain.Principal{Role: domain.RoleSeller}), domain.Principal{}, domain.EUNAUTHENTICATED},
		{"buyer", domain.NewContextWithPrincipal(context.Background(), aBuyer), aBuyer, ""},
		{"seller", domain.NewContextWithPrincipal(context.Background(), aSeller), aSeller, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.RequirePrincipal(tt.ctx)
			if tt.wantCode != "" {
				wantError(t, err, tt.wantCode, "sign in")
			} else {
				wantError(t, err, "")
			}
			if got != tt.want {
				t.Fatalf("RequirePrincipal = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequireRole(t *testing.T) {
	with := func(p domain.Principal) context.Context {
		return domain.NewContextWithPrincipal(context.Background(), p)
	}
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		roles    []domain.Role
		wantCode string
		words    []string
	}{
		{"anonymous", context.Background(), []domain.Role{domain.RoleSeller}, domain.EUNAUTHENTICATED, []string{"sign in"}},
		{"anonymous asking for buyer", context.Background(), []domain.Role{domain.RoleBuyer}, domain.EUNAUTHENTICATED, []string{"sign in"}},
		{"principal without a user ID", with(domain.Principal{Role: domain.RoleAdmin}), []domain.Role{domain.RoleSeller}, domain.EUNAUTHENTICATED, []string{"sign in"}},
		{"buyer where seller needed", with(aBuyer), []domain.Role{domain.RoleSeller}, domain.EFORBIDDEN, []string{"SELLER"}},
		{"seller where buyer needed", with(aSeller), []domain.Role{domain.RoleBuyer}, domain.EFORBIDDEN, []string{"BUYER"}},
		{"seller where admin needed", with(aSeller), []domain.Role{domain.RoleAdmin}, domain.EFORBIDDEN, []string{"ADMIN"}},
		{"unknown role", with(domain.Principal{UserID: "usr_x", Role: "ROOT"}), []domain.Role{domain.RoleSeller}, domain.EFORBIDDEN, []string{"SELLER"}},
		{"seller where seller needed", with(aSeller), []domain.Role{domain.RoleSeller}, "", nil},
		{"seller among several", with(aSeller), []domain.Role{domain.RoleBuyer, domain.RoleSeller}, "", nil},
		{"buyer where buyer needed", with(aBuyer), []domain.Role{domain.RoleBuyer}, "", nil},
		{"admin passes a seller check", with(anAdmin), []domain.Role{domain.RoleSeller}, "", nil},
		{"admin passes a buyer check", with(anAdmin), []domain.Role{domain.RoleBuyer}, "", nil},
		{"admin passes an admin check", with(anAdmin), []domain.Role{domain.RoleAdmin}, "", nil},
		{"admin passes an empty check", with(anAdmin), nil, "", nil},
		// No caller has one of no roles; only ADMIN passes.
		{"seller with no roles listed", with(aSeller), nil, domain.EFORBIDDEN, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got domain.Principal
				err error
			)
			if r := panicOf(func() { got, err = domain.RequireRole(tt.ctx, tt.roles...) }); r != nil {
				t.Fatalf("RequireRole(%v) panicked: %v", tt.roles, r)
			}
			wantError(t, err, tt.wantCode, tt.words...)
			if err == nil {
				want, _ := domain.PrincipalFromContext(tt.ctx)
				if got != want {
					t.Fatalf("RequireRole = %+v, want %+v", got, want)
				}
			}
		})
	}
}

// panicOf runs f and returns what it panicked with, or nil.
func panicOf(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

func TestPrincipalCanManage(t *testing.T) {
	for _, tt := range []struct {
		p     domain.Principal
		owner string
		want  bool
	}{
		{aSeller, aSeller.UserID, true},
		{aSeller, "usr_other", false},
		{aSeller, "", false},
		{aBuyer, aBuyer.UserID, true}, // ownership, not role
		{aBuyer, aSeller.UserID, false},
		{anAdmin, aSeller.UserID, true},
		{anAdmin, "", true},
		{domain.Principal{}, "", false},
		{domain.Principal{Role: domain.RoleSeller}, "", false},
		{domain.Principal{UserID: "usr_seller"}, "usr_seller", true},
		{domain.Principal{UserID: "usr_Seller", Role: domain.RoleSeller}, "usr_seller", false},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.p.Role, tt.p.UserID, tt.owner), func(t *testing.T) {
			if got := tt.p.CanManage(tt.owner); got != tt.want {
				t.Fatalf("%+v.CanManage(%q) = %v, want %v", tt.p, tt.owner, got, tt.want)
			}
		})
	}
}

func TestRequestIDFromContext(t *testing.T) {
	if got, want := domain.RequestIDFromContext(context.Background()), ""; got != want {
		t.Fatalf("RequestIDFromContext(empty) = %q, want %q", got, want)
	}
	ctx := domain.NewContextWithRequestID(domain.NewContextWithPrincipal(context.Background(), aBuyer), "req-42")
	if got, want := domain.RequestIDFromContext(ctx), "req-42"; got != want {
		t.Fatalf("RequestIDFromContext = %q, want %q", got, want)
	}
	if got, want := domain.RequestIDFromContext(domain.NewContextWithPrincipal(context.Background(), aBuyer)), ""; got != want {
		t.Fatalf("RequestIDFromContext(principal only) = %q, want %q", got, want)
	}
}

func TestKindOfID(t *testing.T) {
	const ulid = "01J0Q3S5ZK8X4WQ2M7N6B9C1DE"
	for _, tt := range []struct{ id, want string }{
		{"usr_" + ulid, domain.PrefixUser},
		{"prd_" + ulid, domain.PrefixProduct},
		{"room_" + ulid, domain.PrefixLiveRoom},
		{"evt_" + ulid, domain.PrefixFlashEvent},
		{"ord_" + ulid, domain.PrefixOrder},
		{"", ""},
		{ulid, ""},
		{"usr" + ulid, ""},
		{"USR_" + ulid, ""},
		{"xusr_" + ulid, ""},
		{"cart_" + ulid, ""},
	} {
		if got := domain.KindOfID(tt.id); got != tt.want {
			t.Errorf("KindOfID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}
