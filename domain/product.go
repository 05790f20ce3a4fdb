package domain

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// Limits on catalog fields.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 5000
	MaxPriceCents     = 100_000_000_00 // one hundred million in currency units
	MaxStock          = 1_000_000_000
	MaxImageURLLen    = 2048
)

// Product is a thing a seller sells: in ordinary cart orders from its own
// Stock, and in flash events that take part of that stock.
type Product struct {
	ID          string
	SellerID    string
	Name        string
	Description string
	PriceCents  int64
	Stock       int
	// ImageURL is the product's picture: an http(s) URL or a path on this
	// server ("/img/earbuds.svg"); "" when it has none.
	ImageURL string
	// Published products are listed and can be ordered; unpublished ones
	// are visible to their seller only.
	Published bool
	CreatedAt time.Time
}

// ProductCreate is the input of ProductService.CreateProduct.
type ProductCreate struct {
	Name        string
	Description string
	PriceCents  int64
	Stock       int
	ImageURL    string
	Published   bool
}

// Validate returns an INVALID error naming the first bad field, or nil.
func (c *ProductCreate) Validate() error {
	if err := validateText("name", c.Name, 1, MaxNameLen); err != nil {
		return err
	}
	if err := validateText("description", c.Description, 0, MaxDescriptionLen); err != nil {
		return err
	}
	if err := validatePrice(c.PriceCents); err != nil {
		return err
	}
	if err := validateStock("stock", c.Stock, 0); err != nil {
		return err
	}
	return validateImageURL(c.ImageURL)
}

// ProductUpdate changes the fields that are set.
type ProductUpdate struct {
	Name        *string
	Description *string
	PriceCents  *int64
	Stock       *int
	ImageURL    *string // "" removes the image
	Published   *bool
}

// Validate returns an INVALID error naming the first bad field, or nil.
func (u *ProductUpdate) Validate() error {
	if u.Name != nil {
		if err := validateText("name", *u.Name, 1, MaxNameLen); err != nil {
			return err
		}
	}
	if u.Description != nil {
		if err := validateText("description", *u.Description, 0, MaxDescriptionLen); err != nil {
			return err
		}
	}
	if u.PriceCents != nil {
		if err := validatePrice(*u.PriceCents); err != nil {
			return err
		}
	}
	if u.Stock != nil {
		if err := validateStock("stock", *u.Stock, 0); err != nil {
			return err
		}
	}
	if u.ImageURL != nil {
		return validateImageURL(*u.ImageURL)
	}
	return nil
}

// Apply sets the fields of p that u sets.
func (u *ProductUpdate) Apply(p *Product) {
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.PriceCents != nil {
		p.PriceCents = *u.PriceCents
	}
	if u.Stock != nil {
		p.Stock = *u.Stock
	}
	if u.ImageURL != nil {
		p.ImageURL = *u.ImageURL
	}
	if u.Published != nil {
		p.Published = *u.Published
	}
}

func validatePrice(cents int64) error {
	if cents < 0 {
		return Errorf(EINVALID, "priceCents must not be negative")
	}
	if cents > MaxPriceCents {
		return Errorf(EINVALID, "priceCents must be at most %d", int64(MaxPriceCents))
	}
	return nil
}

// validateImageURL returns an INVALID error unless s is "", an absolute
// http or https URL with a host, or a path on this server ("/img/a.svg";
// not "//host/...", which a browser reads as another host). Nothing that
// could run as script (javascript:, data:) or hide in the page (spaces,
// control characters, backslashes, quotes, angle brackets) gets through.
func validateImageURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxImageURLLen {
		return Errorf(EINVALID, "imageUrl must have at most %d characters", MaxImageURLLen)
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r > '~' || strings.ContainsRune("\\\"'<>`", r)
	}) >= 0 {
		return Errorf(EINVALID, "imageUrl must be a URL without spaces, quotes or non-ASCII characters (percent-encode them)")
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return Errorf(EINVALID, "imageUrl must be an http(s) URL or a path starting with a single /")
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Errorf(EINVALID, "imageUrl must be an http(s) URL or a path starting with /")
	}
	return nil
}

func validateStock(field string, n, min int) error {
	if n < min {
		if min == 0 {
			return Errorf(EINVALID, "%s must not be negative", field)
		}
		return Errorf(EINVALID, "%s must be at least %d", field, min)
	}
	if n > MaxStock {
		return Errorf(EINVALID, "%s must be at most %d", field, MaxStock)
	}
	return nil
}

// ProductFilter selects products.
type ProductFilter struct {
	// SellerID, when set, keeps the products of that seller only.
	SellerID string
	PageRequest
}

// ProductService manages products. Reads apply visibility: an unpublished
// product is found only by its seller or an ADMIN.
type ProductService interface {
	// FindProductByID returns a product the caller may see; NOT_FOUND
	// otherwise.
	FindProductByID(ctx context.Context, id string) (*Product, error)

	// FindProductsByIDs returns the products among ids that exist, in no
	// order and without visibility checks: it backs loaders for things
	// (events, orders) that are visible themselves.
	FindProductsByIDs(ctx context.Context, ids []string) ([]*Product, error)

	// FindProducts returns a page of the products the caller may see,
	// newest first.
	FindProducts(ctx context.Context, f ProductFilter) (Page[*Product], error)

	// CreateProduct creates a product owned by the calling SELLER.
	// UNAUTHENTICATED, FORBIDDEN (not a seller), INVALID.
	CreateProduct(ctx context.Context, c ProductCreate) (*Product, error)

	// UpdateProduct changes a product of the calling seller.
	// NOT_FOUND, FORBIDDEN (another seller's), INVALID.
	UpdateProduct(ctx context.Context, id string, u ProductUpdate) (*Product, error)
}
