package domain_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func ptrTo[T any](v T) *T { return &v }

func TestProductCreateValidate(t *testing.T) {
	valid := func() domain.ProductCreate {
		return domain.ProductCreate{Name: "Velvet lipstick", Description: "Matte, long-lasting.", PriceCents: 1999, Stock: 10}
	}
	for _, tt := range []struct {
		name     string
		edit     func(c *domain.ProductCreate)
		wantCode string
		words    []string
	}{
		{"valid", func(c *domain.ProductCreate) {}, "", nil},
		{"valid published", func(c *domain.ProductCreate) { c.Published = true }, "", nil},

		{"name empty", func(c *domain.ProductCreate) { c.Name = "" }, domain.EINVALID, []string{"name", "must not be empty"}},
		{"name of 1 character", func(c *domain.ProductCreate) { c.Name = "x" }, "", nil},
		{"name of 200 characters", func(c *domain.ProductCreate) { c.Name = strings.Repeat("n", 200) }, "", nil},
		// 200 runes, 400 bytes: the limit counts characters, not bytes.
		{"name of 200 two-byte characters", func(c *domain.ProductCreate) { c.Name = strings.Repeat("é", 200) }, "", nil},
		{"name of 201 characters", func(c *domain.ProductCreate) { c.Name = strings.Repeat("n", 201) }, domain.EINVALID, []string{"name", "at most 200"}},
		{"name with a NUL", func(c *domain.ProductCreate) { c.Name = "Lip\x00stick" }, domain.EINVALID, []string{"name", "control characters"}},
		{"name with an escape sequence", func(c *domain.ProductCreate) { c.Name = "\x1b[2JLipstick" }, domain.EINVALID, []string{"name", "control characters"}},
		{"name with a carriage return", func(c *domain.ProductCreate) { c.Name = "Lipstick\r" }, domain.EINVALID, []string{"name", "control characters"}},
		{"name with a C1 control", func(c *domain.ProductCreate) { c.Name = "Lipstick\u009b" }, domain.EINVALID, []string{"name", "control characters"}},
		{"name not UTF-8", func(c *domain.ProductCreate) { c.Name = "Lip\xc3\x28stick" }, domain.EINVALID, []string{"name", "not valid UTF-8"}},
		{"name with emoji", func(c *domain.ProductCreate) { c.Name = "Lipstick 💄" }, "", nil},

		{"description empty", func(c *domain.ProductCreate) { c.Description = "" }, "", nil},
		{"description with newlines and tabs", func(c *domain.ProductCreate) { c.Description = "Line one\n\tLine two\n" }, "", nil},
		{"description of 5000 characters", func(c *domain.ProductCreate) { c.Description = strings.Repeat("d", 5000) }, "", nil},
		{"description of 5001 characters", func(c *domain.ProductCreate) { c.Description = strings.Repeat("d", 5001) }, domain.EINVALID, []string{"description", "at most 5000"}},
		{"description with a bell", func(c *domain.ProductCreate) { c.Description = "ding\a" }, domain.EINVALID, []string{"description", "control characters"}},
		{"description not UTF-8", func(c *domain.ProductCreate) { c.Description = "\xff" }, domain.EINVALID, []string{"description", "not valid UTF-8"}},

		{"price zero", func(c *domain.ProductCreate) { c.PriceCents = 0 }, "", nil},
		{"price negative", func(c *domain.ProductCreate) { c.PriceCents = -1 }, domain.EINVALID, []string{"priceCents", "must not be negative"}},
		{"price at MaxPriceCents", func(c *domain.ProductCreate) { c.PriceCents = domain.MaxPriceCents }, "", nil},
		{"price above MaxPriceCents", func(c *domain.ProductCreate) { c.PriceCents = domain.MaxPriceCents + 1 }, domain.EINVALID, []string{"priceCents", "at most 10000000000"}},

		{"stock zero", func(c *domain.ProductCreate) { c.Stock = 0 }, "", nil},
		{"stock negative", func(c *domain.ProductCreate) { c.Stock = -1 }, domain.EINVALID, []string{"stock", "must not be negative"}},
		{"stock at MaxStock", func(c *domain.ProductCreate) { c.Stock = domain.MaxStock }, "", nil},
		{"stock above MaxStock", func(c *domain.ProductCreate) { c.Stock = domain.MaxStock + 1 }, domain.EINVALID, []string{"stock", "at most 1000000000"}},

		{"image empty", func(c *domain.ProductCreate) { c.ImageURL = "" }, "", nil},
		{"image https", func(c *domain.ProductCreate) { c.ImageURL = "https://cdn.example.com/p/1.png?w=640" }, "", nil},
		{"image http", func(c *domain.ProductCreate) { c.ImageURL = "http://example.com/a.jpg" }, "", nil},
		{"image same-origin path", func(c *domain.ProductCreate) { c.ImageURL = "/img/earbuds.svg" }, "", nil},
		{"image percent-encoded", func(c *domain.ProductCreate) { c.ImageURL = "/img/red%20lamp.png" }, "", nil},
		{"image of MaxImageURLLen", func(c *domain.ProductCreate) { c.ImageURL = "/" + strings.Repeat("a", domain.MaxImageURLLen-1) }, "", nil},
		{"image too long", func(c *domain.ProductCreate) { c.ImageURL = "/" + strings.Repeat("a", domain.MaxImageURLLen) }, domain.EINVALID, []string{"imageUrl", "at most 2048"}},
		{"image javascript", func(c *domain.ProductCreate) { c.ImageURL = "javascript:alert(1)" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image data URL", func(c *domain.ProductCreate) { c.ImageURL = "data:image/png;base64,AAAA" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image ftp", func(c *domain.ProductCreate) { c.ImageURL = "ftp://example.com/a.png" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image relative path", func(c *domain.ProductCreate) { c.ImageURL = "img/a.png" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image protocol-relative", func(c *domain.ProductCreate) { c.ImageURL = "//evil.example/a.png" }, domain.EINVALID, []string{"imageUrl", "single /"}},
		{"image without host", func(c *domain.ProductCreate) { c.ImageURL = "https:///a.png" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image with credentials", func(c *domain.ProductCreate) { c.ImageURL = "https://user:pw@example.com/a.png" }, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image with a space", func(c *domain.ProductCreate) { c.ImageURL = "/img/a b.png" }, domain.EINVALID, []string{"imageUrl", "without spaces"}},
		{"image with a quote", func(c *domain.ProductCreate) { c.ImageURL = `/img/a".png` }, domain.EINVALID, []string{"imageUrl", "quotes"}},
		{"image with a backslash", func(c *domain.ProductCreate) { c.ImageURL = `/\evil.example/a.png` }, domain.EINVALID, []string{"imageUrl"}},
		{"image with a newline", func(c *domain.ProductCreate) { c.ImageURL = "/img/a.png\n" }, domain.EINVALID, []string{"imageUrl"}},
		{"image non-ASCII", func(c *domain.ProductCreate) { c.ImageURL = "/img/café.png" }, domain.EINVALID, []string{"imageUrl", "non-ASCII"}},

		{"first bad field named: name before price", func(c *domain.ProductCreate) { c.Name, c.PriceCents = "", -1 }, domain.EINVALID, []string{"name"}},
		{"first bad field named: description before price", func(c *domain.ProductCreate) { c.Description, c.PriceCents = "\x00", -1 }, domain.EINVALID, []string{"description"}},
		{"first bad field named: price before stock", func(c *domain.ProductCreate) { c.PriceCents, c.Stock = -1, -1 }, domain.EINVALID, []string{"priceCents"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			wantError(t, c.Validate(), tt.wantCode, tt.words...)
		})
	}
}

func TestProductUpdateValidate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		u        domain.ProductUpdate
		wantCode string
		words    []string
	}{
		{"nothing set", domain.ProductUpdate{}, "", nil},
		{"every field valid", domain.ProductUpdate{Name: ptrTo("New name"), Description: ptrTo("New text"), PriceCents: ptrTo(int64(500)), Stock: ptrTo(3), Published: ptrTo(true)}, "", nil},
		{"published only", domain.ProductUpdate{Published: ptrTo(false)}, "", nil},
		{"description cleared", domain.ProductUpdate{Description: ptrTo("")}, "", nil},
		{"price set to zero", domain.ProductUpdate{PriceCents: ptrTo(int64(0))}, "", nil},
		{"stock set to zero", domain.ProductUpdate{Stock: ptrTo(0)}, "", nil},

		{"name cleared", domain.ProductUpdate{Name: ptrTo("")}, domain.EINVALID, []string{"name", "must not be empty"}},
		{"name of 201 characters", domain.ProductUpdate{Name: ptrTo(strings.Repeat("n", 201))}, domain.EINVALID, []string{"name", "at most 200"}},
		{"name with a control character", domain.ProductUpdate{Name: ptrTo("a\x07b")}, domain.EINVALID, []string{"name", "control characters"}},
		{"name not UTF-8", domain.ProductUpdate{Name: ptrTo("\xfe\xff")}, domain.EINVALID, []string{"name", "not valid UTF-8"}},
		{"description of 5001 characters", domain.ProductUpdate{Description: ptrTo(strings.Repeat("d", 5001))}, domain.EINVALID, []string{"description", "at most 5000"}},
		{"description with a control character", domain.ProductUpdate{Description: ptrTo("\x00")}, domain.EINVALID, []string{"description", "control characters"}},
		{"price negative", domain.ProductUpdate{PriceCents: ptrTo(int64(-1))}, domain.EINVALID, []string{"priceCents", "must not be negative"}},
		{"price above MaxPriceCents", domain.ProductUpdate{PriceCents: ptrTo(int64(domain.MaxPriceCents + 1))}, domain.EINVALID, []string{"priceCents", "at most"}},
		{"stock negative", domain.ProductUpdate{Stock: ptrTo(-1)}, domain.EINVALID, []string{"stock", "must not be negative"}},
		{"stock above MaxStock", domain.ProductUpdate{Stock: ptrTo(domain.MaxStock + 1)}, domain.EINVALID, []string{"stock", "at most"}},
		{"bad stock after good fields", domain.ProductUpdate{Name: ptrTo("ok"), PriceCents: ptrTo(int64(1)), Stock: ptrTo(-5)}, domain.EINVALID, []string{"stock"}},
		{"image set", domain.ProductUpdate{ImageURL: ptrTo("https://example.com/a.webp")}, "", nil},
		{"image removed", domain.ProductUpdate{ImageURL: ptrTo("")}, "", nil},
		{"image javascript", domain.ProductUpdate{ImageURL: ptrTo("javascript:alert(1)")}, domain.EINVALID, []string{"imageUrl", "http(s) URL"}},
		{"image too long", domain.ProductUpdate{ImageURL: ptrTo("https://example.com/" + strings.Repeat("a", domain.MaxImageURLLen))}, domain.EINVALID, []string{"imageUrl", "at most 2048"}},
		{"bad image after a good stock", domain.ProductUpdate{Stock: ptrTo(1), ImageURL: ptrTo("//x")}, domain.EINVALID, []string{"imageUrl"}},
		{"bad stock before a bad image", domain.ProductUpdate{Stock: ptrTo(-1), ImageURL: ptrTo("//x")}, domain.EINVALID, []string{"stock"}},
		{"first bad field named", domain.ProductUpdate{Name: ptrTo(""), PriceCents: ptrTo(int64(-1)), Stock: ptrTo(-1)}, domain.EINVALID, []string{"name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.u.Validate(), tt.wantCode, tt.words...)
		})
	}
}

func TestProductUpdateApply(t *testing.T) {
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	base := domain.Product{
		ID: "prd_1", SellerID: "usr_1", Name: "Old", Description: "Old text",
		PriceCents: 1000, Stock: 5, ImageURL: "https://example.com/old.png", Published: true, CreatedAt: created,
	}
	for _, tt := range []struct {
		name string
		u    domain.ProductUpdate
		edit func(p *domain.Product)
	}{
		{"nothing set changes nothing", domain.ProductUpdate{}, func(p *domain.Product) {}},
		{"name", domain.ProductUpdate{Name: ptrTo("New")}, func(p *domain.Product) { p.Name = "New" }},
		{"description cleared", domain.ProductUpdate{Description: ptrTo("")}, func(p *domain.Product) { p.Description = "" }},
		{"price to zero", domain.ProductUpdate{PriceCents: ptrTo(int64(0))}, func(p *domain.Product) { p.PriceCents = 0 }},
		{"stock to zero", domain.ProductUpdate{Stock: ptrTo(0)}, func(p *domain.Product) { p.Stock = 0 }},
		{"unpublish", domain.ProductUpdate{Published: ptrTo(false)}, func(p *domain.Product) { p.Published = false }},
		{"image", domain.ProductUpdate{ImageURL: ptrTo("/img/a.svg")}, func(p *domain.Product) { p.ImageURL = "/img/a.svg" }},
		{
			"every field",
			domain.ProductUpdate{Name: ptrTo("N"), Description: ptrTo("D"), PriceCents: ptrTo(int64(7)), Stock: ptrTo(9), ImageURL: ptrTo(""), Published: ptrTo(false)},
			func(p *domain.Product) {
				p.Name, p.Description, p.PriceCents, p.Stock, p.ImageURL, p.Published = "N", "D", 7, 9, "", false
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, want := base, base
			tt.edit(&want)
			tt.u.Apply(&got)
			if got != want {
				t.Fatalf("Apply() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestPageRequestNormalize(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        domain.PageRequest
		want      domain.PageRequest
		wantCode  string
		wantWords []string
	}{
		{"zero kept", domain.PageRequest{First: 0}, domain.PageRequest{First: 0}, "", nil},
		{"one kept", domain.PageRequest{First: 1, After: "prd_9"}, domain.PageRequest{First: 1, After: "prd_9"}, "", nil},
		{"MaxPageSize kept", domain.PageRequest{First: domain.MaxPageSize}, domain.PageRequest{First: domain.MaxPageSize}, "", nil},
		{"MaxPageSize+1 capped", domain.PageRequest{First: domain.MaxPageSize + 1, After: "prd_9"}, domain.PageRequest{First: domain.MaxPageSize, After: "prd_9"}, "", nil},
		{"MaxInt capped", domain.PageRequest{First: math.MaxInt}, domain.PageRequest{First: domain.MaxPageSize}, "", nil},
		{"minus one refused", domain.PageRequest{First: -1}, domain.PageRequest{First: -1}, domain.EINVALID, []string{"first", "negative"}},
		{"MinInt refused", domain.PageRequest{First: math.MinInt}, domain.PageRequest{First: math.MinInt}, domain.EINVALID, []string{"first", "negative"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := got.Normalize()
			wantError(t, err, tt.wantCode, tt.wantWords...)
			if err == nil && got != tt.want {
				t.Fatalf("Normalize() left %+v, want %+v", got, tt.want)
			}
		})
	}
}
