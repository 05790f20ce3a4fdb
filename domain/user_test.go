package domain_test

import (
	"strings"
	"testing"

	"flashlive/domain"
)

func TestNormalizeEmail(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ana@example.com", "ana@example.com"},
		{"Ana@Example.COM", "ana@example.com"},
		{"  ana@example.com\t\n", "ana@example.com"},
		{" \tANA@EXAMPLE.COM ", "ana@example.com"},
		{"", ""},
		{"   ", ""},
	} {
		if got := domain.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRegistrationNormalize(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   domain.Registration
		want domain.Registration
	}{
		{
			name: "already normal",
			in:   domain.Registration{Email: "ana@example.com", Password: "secret-pw", DisplayName: "Ana", Role: domain.RoleBuyer},
			want: domain.Registration{Email: "ana@example.com", Password: "secret-pw", DisplayName: "Ana", Role: domain.RoleBuyer},
		},
		{
			name: "email trimmed and lower-cased, display name trimmed",
			in:   domain.Registration{Email: "  Ana.Lee@Example.COM ", Password: "secret-pw", DisplayName: "\t Ana Lee \n", Role: domain.RoleSeller},
			want: domain.Registration{Email: "ana.lee@example.com", Password: "secret-pw", DisplayName: "Ana Lee", Role: domain.RoleSeller},
		},
		{
			// The password is the user's secret, spaces included; the role
			// is checked, not repaired.
			name: "password and role untouched",
			in:   domain.Registration{Email: "a@example.com", Password: "  Pass Word  ", DisplayName: "A", Role: "buyer"},
			want: domain.Registration{Email: "a@example.com", Password: "  Pass Word  ", DisplayName: "A", Role: "buyer"},
		},
		{
			name: "inner spaces of the display name kept",
			in:   domain.Registration{Email: "a@example.com", DisplayName: "  Ana   Lee  "},
			want: domain.Registration{Email: "a@example.com", DisplayName: "Ana   Lee"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			got.Normalize()
			if got != tt.want {
				t.Fatalf("Normalize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRegistrationValidate(t *testing.T) {
	valid := func() domain.Registration {
		return domain.Registration{Email: "ana@example.com", Password: "correct horse", DisplayName: "Ana", Role: domain.RoleBuyer}
	}
	// A 254-character address: 64-character local part, 189-character domain.
	email254 := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
	if len(email254) != 254 {
		t.Fatalf("email254 has %d characters", len(email254))
	}

	for _, tt := range []struct {
		name     string
		edit     func(r *domain.Registration)
		wantCode string
		words    []string
	}{
		{"valid buyer", func(r *domain.Registration) {}, "", nil},
		{"valid seller", func(r *domain.Registration) { r.Role = domain.RoleSeller }, "", nil},
		{"plus and dots in the address", func(r *domain.Registration) { r.Email = "ana.lee+flash@mail.example.co.uk" }, "", nil},

		{"email empty", func(r *domain.Registration) { r.Email = "" }, domain.EINVALID, []string{"email", "required"}},
		{"email without @", func(r *domain.Registration) { r.Email = "ana.example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email without domain", func(r *domain.Registration) { r.Email = "ana@" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email without local part", func(r *domain.Registration) { r.Email = "@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with two @", func(r *domain.Registration) { r.Email = "ana@b@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with a space", func(r *domain.Registration) { r.Email = "ana lee@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with double dot in domain", func(r *domain.Registration) { r.Email = "ana@example..com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with trailing dot in local part", func(r *domain.Registration) { r.Email = "ana.@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email list", func(r *domain.Registration) { r.Email = "ana@example.com,bob@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with a NUL", func(r *domain.Registration) { r.Email = "ana\x00@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with a display name", func(r *domain.Registration) { r.Email = "Bob <bob@x.com>" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with a lower-case display name", func(r *domain.Registration) { r.Email = "bob <bob@x.com>" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email in angle brackets", func(r *domain.Registration) { r.Email = "<bob@x.com>" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email with a comment", func(r *domain.Registration) { r.Email = "bob@x.com (Bob)" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email not trimmed (Normalize not called)", func(r *domain.Registration) { r.Email = " ana@example.com" }, domain.EINVALID, []string{"email", "not a valid address"}},
		{"email of 254 characters", func(r *domain.Registration) { r.Email = email254 }, "", nil},
		{"email of 255 characters", func(r *domain.Registration) { r.Email = "a" + email254 }, domain.EINVALID, []string{"email", "at most 254"}},
		{"email of 300 characters", func(r *domain.Registration) {
			r.Email = strings.Repeat("a", 200) + "@" + strings.Repeat("b", 95) + ".com"
		}, domain.EINVALID, []string{"email", "at most 254"}},

		{"password empty", func(r *domain.Registration) { r.Password = "" }, domain.EINVALID, []string{"password", "at least 8"}},
		{"password of 7 characters", func(r *domain.Registration) { r.Password = "1234567" }, domain.EINVALID, []string{"password", "at least 8"}},
		{"password of 8 characters", func(r *domain.Registration) { r.Password = "12345678" }, "", nil},
		// 7 runes, 14 bytes: the limit counts characters, not bytes.
		{"password of 7 two-byte characters", func(r *domain.Registration) { r.Password = strings.Repeat("é", 7) }, domain.EINVALID, []string{"password", "at least 8"}},
		{"password of 8 two-byte characters", func(r *domain.Registration) { r.Password = strings.Repeat("é", 8) }, "", nil},
		{"password of 128 characters", func(r *domain.Registration) { r.Password = strings.Repeat("p", 128) }, "", nil},
		{"password of 128 two-byte characters", func(r *domain.Registration) { r.Password = strings.Repeat("é", 128) }, "", nil},
		{"password of 129 characters", func(r *domain.Registration) { r.Password = strings.Repeat("p", 129) }, domain.EINVALID, []string{"password", "at most 128"}},

		{"displayName empty", func(r *domain.Registration) { r.DisplayName = "" }, domain.EINVALID, []string{"displayName", "must not be empty"}},
		{"displayName of 64 characters", func(r *domain.Registration) { r.DisplayName = strings.Repeat("ä", 64) }, "", nil},
		{"displayName of 65 characters", func(r *domain.Registration) { r.DisplayName = strings.Repeat("a", 65) }, domain.EINVALID, []string{"displayName", "at most 64"}},
		{"displayName with a bell", func(r *domain.Registration) { r.DisplayName = "Ana\a" }, domain.EINVALID, []string{"displayName", "control characters"}},
		{"displayName with an escape sequence", func(r *domain.Registration) { r.DisplayName = "\x1b[31mAna" }, domain.EINVALID, []string{"displayName", "control characters"}},
		{"displayName with DEL", func(r *domain.Registration) { r.DisplayName = "Ana\x7f" }, domain.EINVALID, []string{"displayName", "control characters"}},
		{"displayName with a C1 control", func(r *domain.Registration) { r.DisplayName = "Ana\u0085" }, domain.EINVALID, []string{"displayName", "control characters"}},
		{"displayName not UTF-8", func(r *domain.Registration) { r.DisplayName = "Ana\xff" }, domain.EINVALID, []string{"displayName", "UTF-8"}},

		{"role ADMIN refused", func(r *domain.Registration) { r.Role = domain.RoleAdmin }, domain.EINVALID, []string{"role", "BUYER or SELLER"}},
		{"role empty", func(r *domain.Registration) { r.Role = "" }, domain.EINVALID, []string{"role"}},
		{"role lower-case", func(r *domain.Registration) { r.Role = "buyer" }, domain.EINVALID, []string{"role"}},
		{"role unknown", func(r *domain.Registration) { r.Role = "ROOT" }, domain.EINVALID, []string{"role"}},

		{"first bad field named: email before password", func(r *domain.Registration) { r.Email, r.Password = "nope", "short" }, domain.EINVALID, []string{"email"}},
		{"first bad field named: password before displayName", func(r *domain.Registration) { r.Password, r.DisplayName = "short", "" }, domain.EINVALID, []string{"password"}},
		{"first bad field named: displayName before role", func(r *domain.Registration) { r.DisplayName, r.Role = "", domain.RoleAdmin }, domain.EINVALID, []string{"displayName"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.edit(&r)
			wantError(t, r.Validate(), tt.wantCode, tt.words...)
		})
	}
}

// Normalize then Validate is how AuthService.Register reads its input.
func TestRegistrationNormalizeThenValidate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		email    string
		display  string
		wantCode string
		words    []string
	}{
		{"untidy but valid", "  Ana@Example.COM\n", "  Ana  ", "", nil},
		{"display-name form still refused", "  Bob <Bob@X.com> ", "Bob", domain.EINVALID, []string{"email"}},
		{"blank email is required", "   ", "Ana", domain.EINVALID, []string{"email", "required"}},
		{"blank display name is empty", "ana@example.com", " \t ", domain.EINVALID, []string{"displayName", "must not be empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := domain.Registration{Email: tt.email, Password: "correct horse", DisplayName: tt.display, Role: domain.RoleBuyer}
			r.Normalize()
			wantError(t, r.Validate(), tt.wantCode, tt.words...)
		})
	}
}

func TestRoleValid(t *testing.T) {
	for _, tt := range []struct {
		role domain.Role
		want bool
	}{
		{domain.RoleBuyer, true},
		{domain.RoleSeller, true},
		{domain.RoleAdmin, true},
		{"", false},
		{"buyer", false},
		{"ROOT", false},
	} {
		if got := tt.role.Valid(); got != tt.want {
			t.Errorf("Role(%q).Valid() = %v, want %v", tt.role, got, tt.want)
		}
	}
}
