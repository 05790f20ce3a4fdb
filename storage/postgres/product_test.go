package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"flashlive/domain"
)

func TestProductCreateRequiresSeller(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	in := domain.ProductCreate{Name: "Kettle", Description: "Boils\nwater", PriceCents: 2500, Stock: 7, ImageURL: "/img/kettle.svg", Published: true}

	_, err := e.products.CreateProduct(anonymous, in)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.products.CreateProduct(as(e.user(t, domain.RoleBuyer)), in)
	wantCode(t, err, domain.EFORBIDDEN)

	seller := e.user(t, domain.RoleSeller)
	p, err := e.products.CreateProduct(as(seller), in)
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	want := domain.Product{
		ID: p.ID, SellerID: seller.UserID, Name: "Kettle", Description: "Boils\nwater",
		PriceCents: 2500, Stock: 7, ImageURL: "/img/kettle.svg", Published: true, CreatedAt: e.clock.Now(),
	}
	if !p.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("created at = %v, want %v", p.CreatedAt, want.CreatedAt)
	}
	p.CreatedAt = want.CreatedAt
	if *p != want {
		t.Fatalf("product = %+v, want %+v", *p, want)
	}
	if got, want := domain.KindOfID(p.ID), domain.PrefixProduct; got != want {
		t.Fatalf("ID kind = %q, want %q", got, want)
	}
	got, err := e.products.FindProductByID(anonymous, p.ID)
	if err != nil {
		t.Fatalf("FindProductByID: %v", err)
	}
	got.CreatedAt = want.CreatedAt
	if *got != want {
		t.Fatalf("found product = %+v, want %+v", *got, want)
	}

	// An ADMIN passes the role check and owns what it creates.
	admin := e.user(t, domain.RoleAdmin)
	ap, err := e.products.CreateProduct(as(admin), in)
	if err != nil {
		t.Fatalf("CreateProduct as admin: %v", err)
	}
	if got, want := ap.SellerID, admin.UserID; got != want {
		t.Fatalf("admin product seller = %q, want %q", got, want)
	}
}

func TestProductCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := as(e.user(t, domain.RoleSeller))
	ok := domain.ProductCreate{Name: "Kettle", PriceCents: 2500, Stock: 7, Published: true}
	for name, mod := range map[string]func(c *domain.ProductCreate){
		"empty name":       func(c *domain.ProductCreate) { c.Name = "" },
		"long name":        func(c *domain.ProductCreate) { c.Name = strings.Repeat("x", domain.MaxNameLen+1) },
		"control in name":  func(c *domain.ProductCreate) { c.Name = "Ket\x00tle" },
		"invalid utf-8":    func(c *domain.ProductCreate) { c.Name = "Ket\xfftle" },
		"long description": func(c *domain.ProductCreate) { c.Description = strings.Repeat("x", domain.MaxDescriptionLen+1) },
		"negative price":   func(c *domain.ProductCreate) { c.PriceCents = -1 },
		"huge price":       func(c *domain.ProductCreate) { c.PriceCents = domain.MaxPriceCents + 1 },
		"negative stock":   func(c *domain.ProductCreate) { c.Stock = -1 },
		"huge stock":       func(c *domain.ProductCreate) { c.Stock = domain.MaxStock + 1 },
		"script image":     func(c *domain.ProductCreate) { c.ImageURL = "javascript:alert(1)" },
		"long image":       func(c *domain.ProductCreate) { c.ImageURL = "/" + strings.Repeat("x", domain.MaxImageURLLen) },
	} {
		c := ok
		mod(&c)
		_, err := e.products.CreateProduct(ctx, c)
		if got, want := domain.ErrorCode(err), domain.EINVALID; got != want {
			t.Errorf("%s: code = %q, want %q (err: %v)", name, got, want, err)
		}
	}
	// The limits themselves are allowed.
	edge := domain.ProductCreate{Name: strings.Repeat("é", domain.MaxNameLen), PriceCents: domain.MaxPriceCents, Stock: 0,
		ImageURL: "https://example.com/" + strings.Repeat("x", domain.MaxImageURLLen-len("https://example.com/"))}
	if _, err := e.products.CreateProduct(ctx, edge); err != nil {
		t.Fatalf("CreateProduct at the limits: %v", err)
	}
}

func TestProductUnpublishedVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	owner := e.user(t, domain.RoleSeller)
	other := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	admin := e.user(t, domain.RoleAdmin)

	hidden, err := e.products.CreateProduct(as(owner), domain.ProductCreate{Name: "Draft", PriceCents: 100, Stock: 1})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	if hidden.Published {
		t.Fatalf("product created without Published is published")
	}
	public := e.product(t, other, 1)

	for _, tc := range []struct {
		name    string
		ctx     context.Context
		sees    bool
		visible []string // FindProducts, newest first
	}{
		{"owner", as(owner), true, []string{public.ID, hidden.ID}},
		{"admin", as(admin), true, []string{public.ID, hidden.ID}},
		{"other seller", as(other), false, []string{public.ID}},
		{"buyer", as(buyer), false, []string{public.ID}},
		{"anonymous", anonymous, false, []string{public.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.products.FindProductByID(tc.ctx, hidden.ID)
			if tc.sees {
				if err != nil {
					t.Fatalf("FindProductByID: %v", err)
				}
				if got, want := p.ID, hidden.ID; got != want {
					t.Fatalf("found %q, want %q", got, want)
				}
			} else {
				wantCode(t, err, domain.ENOTFOUND)
			}
			page, err := e.products.FindProducts(tc.ctx, domain.ProductFilter{PageRequest: domain.PageRequest{First: 10}})
			if err != nil {
				t.Fatalf("FindProducts: %v", err)
			}
			if got := ids(page.Items, func(p *domain.Product) string { return p.ID }); !slices.Equal(got, tc.visible) {
				t.Fatalf("FindProducts = %v, want %v", got, tc.visible)
			}
			// Filtering by the owner shows the draft to the same callers only.
			page, err = e.products.FindProducts(tc.ctx, domain.ProductFilter{SellerID: owner.UserID, PageRequest: domain.PageRequest{First: 10}})
			if err != nil {
				t.Fatalf("FindProducts(seller): %v", err)
			}
			if got, want := len(page.Items), map[bool]int{true: 1, false: 0}[tc.sees]; got != want {
				t.Fatalf("FindProducts(owner's) = %d items, want %d", got, want)
			}
		})
	}

	// FindProductsByIDs backs loaders and skips visibility.
	ps, err := e.products.FindProductsByIDs(anonymous, []string{hidden.ID, public.ID, "prd_unknown"})
	if err != nil {
		t.Fatalf("FindProductsByIDs: %v", err)
	}
	if got, want := sorted(ids(ps, func(p *domain.Product) string { return p.ID })), sorted([]string{hidden.ID, public.ID}); !slices.Equal(got, want) {
		t.Fatalf("FindProductsByIDs = %v, want %v", got, want)
	}
	_, err = e.products.FindProductByID(as(admin), "prd_unknown")
	wantCode(t, err, domain.ENOTFOUND)
}

func TestProductUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	owner := e.user(t, domain.RoleSeller)
	other := e.user(t, domain.RoleSeller)
	orig, err := e.products.CreateProduct(as(owner), domain.ProductCreate{
		Name: "Chair", Description: "Oak", PriceCents: 5000, Stock: 3, Published: false,
	})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}

	_, err = e.products.UpdateProduct(as(other), orig.ID, domain.ProductUpdate{Name: ptr("Mine")})
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.products.UpdateProduct(as(e.user(t, domain.RoleBuyer)), orig.ID, domain.ProductUpdate{Name: ptr("Mine")})
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.products.UpdateProduct(anonymous, orig.ID, domain.ProductUpdate{Name: ptr("Mine")})
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.products.UpdateProduct(as(owner), "prd_unknown", domain.ProductUpdate{Name: ptr("Mine")})
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{PriceCents: ptr(int64(-5))})
	wantCode(t, err, domain.EINVALID)
	_, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{Name: ptr("")})
	wantCode(t, err, domain.EINVALID)
	_, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{Stock: ptr(-1)})
	wantCode(t, err, domain.EINVALID)
	_, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{ImageURL: ptr("//evil.example/a.png")})
	wantCode(t, err, domain.EINVALID)

	// Nothing above changed the row.
	got, err := e.products.FindProductByID(as(owner), orig.ID)
	if err != nil {
		t.Fatalf("FindProductByID: %v", err)
	}
	if *got != *withTime(orig, got) {
		t.Fatalf("after refused updates: %+v, want %+v", *got, *orig)
	}

	// The owner changes only the fields it sets.
	up, err := e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{PriceCents: ptr(int64(4500)), Published: ptr(true)})
	if err != nil {
		t.Fatalf("UpdateProduct: %v", err)
	}
	want := *orig
	want.PriceCents = 4500
	want.Published = true
	for name, p := range map[string]*domain.Product{"returned": up} {
		if *p != *withTime(&want, p) {
			t.Fatalf("%s product = %+v, want %+v", name, *p, want)
		}
	}
	got, err = e.products.FindProductByID(anonymous, orig.ID)
	if err != nil {
		t.Fatalf("FindProductByID after publishing: %v", err)
	}
	if *got != *withTime(&want, got) {
		t.Fatalf("stored product = %+v, want %+v", *got, want)
	}

	// An ADMIN may change any seller's product; the owner stays.
	admin := e.user(t, domain.RoleAdmin)
	up, err = e.products.UpdateProduct(as(admin), orig.ID, domain.ProductUpdate{Name: ptr("Armchair"), Description: ptr(""), Stock: ptr(0)})
	if err != nil {
		t.Fatalf("UpdateProduct as admin: %v", err)
	}
	want.Name, want.Description, want.Stock = "Armchair", "", 0
	if *up != *withTime(&want, up) {
		t.Fatalf("admin-updated product = %+v, want %+v", *up, want)
	}

	// The image is set, kept by updates that do not name it, and removed.
	if up, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{ImageURL: ptr("https://cdn.example.com/chair.png")}); err != nil {
		t.Fatalf("UpdateProduct image: %v", err)
	}
	want.ImageURL = "https://cdn.example.com/chair.png"
	if *up != *withTime(&want, up) {
		t.Fatalf("product with image = %+v, want %+v", *up, want)
	}
	if _, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{Stock: ptr(2)}); err != nil {
		t.Fatalf("UpdateProduct stock: %v", err)
	}
	want.Stock = 2
	if got, err = e.products.FindProductByID(as(owner), orig.ID); err != nil {
		t.Fatalf("FindProductByID: %v", err)
	}
	if *got != *withTime(&want, got) {
		t.Fatalf("stored product after a stock update = %+v, want %+v", *got, want)
	}
	if up, err = e.products.UpdateProduct(as(owner), orig.ID, domain.ProductUpdate{ImageURL: ptr("")}); err != nil {
		t.Fatalf("UpdateProduct remove image: %v", err)
	}
	want.ImageURL = ""
	if *up != *withTime(&want, up) {
		t.Fatalf("product without image = %+v, want %+v", *up, want)
	}
}

// withTime returns a copy of p with the CreatedAt of like when both are the
// same instant, so that struct comparison ignores the time zone.
func withTime(p, like *domain.Product) *domain.Product {
	c := *p
	if c.CreatedAt.Equal(like.CreatedAt) {
		c.CreatedAt = like.CreatedAt
	}
	return &c
}

func TestProductPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	var created []string
	for range 25 {
		created = append(created, e.product(t, seller, 1).ID)
	}
	// A product of another seller, to check the seller filter.
	noise := e.product(t, e.user(t, domain.RoleSeller), 1)

	var seen []string
	after := ""
	for i, want := range []struct {
		n       int
		hasNext bool
	}{{10, true}, {10, true}, {5, false}} {
		page, err := e.products.FindProducts(anonymous, domain.ProductFilter{
			SellerID:    seller.UserID,
			PageRequest: domain.PageRequest{First: 10, After: after},
		})
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if got := len(page.Items); got != want.n {
			t.Fatalf("page %d: %d items, want %d", i, got, want.n)
		}
		if got := page.HasNext; got != want.hasNext {
			t.Fatalf("page %d: HasNext = %t, want %t", i, got, want.hasNext)
		}
		for _, p := range page.Items {
			if p.SellerID != seller.UserID {
				t.Fatalf("page %d: product %s of seller %s, want %s", i, p.ID, p.SellerID, seller.UserID)
			}
			seen = append(seen, p.ID)
		}
		after = page.Items[len(page.Items)-1].ID
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("IDs not strictly decreasing at %d: %s then %s", i, seen[i-1], seen[i])
		}
	}
	// Newest first: the pages are the creation order reversed, no item
	// twice and none missing.
	want := slices.Clone(created)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("paged IDs = %v, want %v", seen, want)
	}

	// Without the seller filter the other seller's product is the newest.
	page, err := e.products.FindProducts(anonymous, domain.ProductFilter{PageRequest: domain.PageRequest{First: 1}})
	if err != nil {
		t.Fatalf("FindProducts: %v", err)
	}
	if got := ids(page.Items, func(p *domain.Product) string { return p.ID }); !slices.Equal(got, []string{noise.ID}) || !page.HasNext {
		t.Fatalf("first of all = %v HasNext %t, want [%s] true", got, page.HasNext, noise.ID)
	}

	_, err = e.products.FindProducts(anonymous, domain.ProductFilter{PageRequest: domain.PageRequest{First: -1}})
	wantCode(t, err, domain.EINVALID)
}

func TestProductPageSizeCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	// Insert more rows than a page holds, directly: the service path is
	// covered elsewhere.
	_, err := e.db.Pool.Exec(context.Background(), `
		INSERT INTO products (id, seller_id, name, price_cents, stock)
		SELECT 'prd_' || lpad(i::text, 26, '0'), $1, 'p' || i, 100, 1
		FROM generate_series(1, $2::int) AS i`, seller.UserID, domain.MaxPageSize+5)
	if err != nil {
		t.Fatalf("insert products: %v", err)
	}
	page, err := e.products.FindProducts(anonymous, domain.ProductFilter{PageRequest: domain.PageRequest{First: domain.MaxPageSize * 10}})
	if err != nil {
		t.Fatalf("FindProducts: %v", err)
	}
	if got, want := len(page.Items), domain.MaxPageSize; got != want {
		t.Fatalf("items = %d, want %d (MaxPageSize)", got, want)
	}
	if !page.HasNext {
		t.Fatalf("HasNext = false with %d more rows", 5)
	}
	page, err = e.products.FindProducts(anonymous, domain.ProductFilter{PageRequest: domain.PageRequest{First: domain.MaxPageSize * 10, After: page.Items[len(page.Items)-1].ID}})
	if err != nil {
		t.Fatalf("FindProducts page 2: %v", err)
	}
	if got, want := len(page.Items), 5; got != want || page.HasNext {
		t.Fatalf("page 2: %d items HasNext %t, want %d false", got, page.HasNext, want)
	}
}
