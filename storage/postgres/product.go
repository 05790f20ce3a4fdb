package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// ProductService implements domain.ProductService.
type ProductService struct {
	db *DB
}

var _ domain.ProductService = (*ProductService)(nil)

// NewProductService returns a ProductService on db.
func NewProductService(db *DB) *ProductService {
	return &ProductService{db: db}
}

const productColumns = `id, seller_id, name, description, price_cents, stock, image_url, published, created_at`

func scanProduct(row pgx.Row) (*domain.Product, error) {
	var p domain.Product
	err := row.Scan(&p.ID, &p.SellerID, &p.Name, &p.Description, &p.PriceCents, &p.Stock, &p.ImageURL, &p.Published, &p.CreatedAt)
	return &p, err
}

func collectProducts(rows pgx.Rows, err error) ([]*domain.Product, error) {
	if err != nil {
		return nil, translate(err, "find products", "product")
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Product, error) { return scanProduct(r) })
	return ps, translate(err, "find products", "product")
}

// FindProductByID implements domain.ProductService.
func (s *ProductService) FindProductByID(ctx context.Context, id string) (*domain.Product, error) {
	p, err := readWith(ctx, s.db, func(q querier) (*domain.Product, error) {
		return scanProduct(q.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id))
	})
	if err != nil {
		return nil, translate(err, "find product", "product")
	}
	if !p.Published {
		if me, _ := domain.PrincipalFromContext(ctx); !me.CanManage(p.SellerID) {
			return nil, domain.Errorf(domain.ENOTFOUND, "product not found")
		}
	}
	return p, nil
}

// FindProductsByIDs implements domain.ProductService.
func (s *ProductService) FindProductsByIDs(ctx context.Context, ids []string) ([]*domain.Product, error) {
	return readWith(ctx, s.db, func(q querier) ([]*domain.Product, error) {
		return collectProducts(q.Query(ctx, `SELECT `+productColumns+` FROM products WHERE id = ANY($1)`, ids))
	})
}

// FindProducts implements domain.ProductService.
func (s *ProductService) FindProducts(ctx context.Context, f domain.ProductFilter) (domain.Page[*domain.Product], error) {
	if err := f.Normalize(); err != nil {
		return domain.Page[*domain.Product]{}, err
	}
	me, _ := domain.PrincipalFromContext(ctx)
	ps, err := readWith(ctx, s.db, func(q querier) ([]*domain.Product, error) {
		return collectProducts(q.Query(ctx, `
		SELECT `+productColumns+` FROM products
		WHERE ($1 = '' OR id < $1)
		  AND ($2 = '' OR seller_id = $2)
		  AND (published OR seller_id = $3 OR $4)
		ORDER BY id DESC LIMIT $5`,
			f.After, f.SellerID, me.UserID, me.Role == domain.RoleAdmin, f.First+1))
	})
	if err != nil {
		return domain.Page[*domain.Product]{}, err
	}
	return page(ps, f.PageRequest), nil
}

// CreateProduct implements domain.ProductService.
func (s *ProductService) CreateProduct(ctx context.Context, c domain.ProductCreate) (*domain.Product, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p, err := scanProduct(s.db.Pool.QueryRow(ctx, `
		INSERT INTO products (id, seller_id, name, description, price_cents, stock, image_url, published, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING `+productColumns,
		newID(domain.PrefixProduct), me.UserID, c.Name, c.Description, c.PriceCents, c.Stock, c.ImageURL, c.Published, s.db.Now()))
	if err != nil {
		return nil, translate(err, "insert product", "product")
	}
	s.db.wrote(ctx)
	return p, nil
}

// UpdateProduct implements domain.ProductService.
func (s *ProductService) UpdateProduct(ctx context.Context, id string, u domain.ProductUpdate) (*domain.Product, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var p *domain.Product
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		p, err = scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return translate(err, "find product", "product")
		}
		if !me.CanManage(p.SellerID) {
			return domain.Errorf(domain.EFORBIDDEN, "this product belongs to another seller")
		}
		u.Apply(p)
		_, err = tx.Exec(ctx, `
			UPDATE products SET name = $2, description = $3, price_cents = $4, stock = $5, image_url = $6, published = $7
			WHERE id = $1`, p.ID, p.Name, p.Description, p.PriceCents, p.Stock, p.ImageURL, p.Published)
		return translate(err, "update product", "product")
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
