package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
	webdemo "flashlive/web-demo"
)

// Demo accounts created in dev. Their password is public: never seed a
// server that others can reach.
const (
	DemoSellerEmail = "seller@flashlive.dev"
	DemoBuyerEmail  = "buyer@flashlive.dev"
	DemoPassword    = "flashlive-demo"
	demoRoomTitle   = "Friday Flash Live"
	demoProductName = "Aurora Wireless Earbuds"
	demoEventStock  = 100
)

// DemoEventLead is how long after start-up the seeded flash event opens.
const DemoEventLead = time.Minute

// demoAccounts creates accounts and signs them in.
type demoAccounts interface {
	CreateUser(ctx context.Context, r domain.Registration) (*domain.User, error)
	Login(ctx context.Context, email, password string) (*domain.Session, error)
}

// demoServices are the services seedDemo goes through, the same ones the
// API uses, so that seeded data obeys every rule a seller's would.
type demoServices struct {
	Accounts demoAccounts
	Products domain.ProductService
	Rooms    domain.LiveRoomService
	Events   domain.FlashEventService
}

// seedDemo makes sure the demo seller and buyer exist, the seller has the
// demoProducts (with their pictures) and a LIVE room, and the room has a flash event that has not
// ended (a new one starting DemoEventLead from now when needed). Running it
// again reuses what exists.
func seedDemo(ctx context.Context, svc demoServices, now func() time.Time, logger *slog.Logger) error {
	seller, err := ensureUser(ctx, svc.Accounts, DemoSellerEmail, "Demo Seller", domain.RoleSeller)
	if err != nil {
		return err
	}
	if _, err := ensureUser(ctx, svc.Accounts, DemoBuyerEmail, "Demo Buyer", domain.RoleBuyer); err != nil {
		return err
	}
	sctx := domain.NewContextWithPrincipal(ctx, domain.Principal{UserID: seller.ID, Role: seller.Role})

	product, err := ensureProducts(sctx, svc.Products, seller.ID)
	if err != nil {
		return err
	}

	rooms, err := svc.Rooms.FindLiveRooms(sctx, domain.LiveRoomFilter{Status: domain.LiveRoomLive, PageRequest: domain.PageRequest{First: domain.MaxPageSize}})
	if err != nil {
		return err
	}
	var room *domain.LiveRoom
	for _, l := range rooms.Items {
		if l.SellerID == seller.ID && l.Title == demoRoomTitle {
			room = l
			break
		}
	}
	if room == nil {
		if room, err = svc.Rooms.CreateLiveRoom(sctx, domain.LiveRoomCreate{Title: demoRoomTitle}); err != nil {
			return err
		}
		if room, err = svc.Rooms.SetLiveRoomStatus(sctx, room.ID, domain.LiveRoomLive); err != nil {
			return err
		}
	}

	events, err := svc.Events.FindFlashEventsByRoomIDs(sctx, []string{room.ID})
	if err != nil {
		return err
	}
	t := now()
	for _, e := range events {
		if e.ClosedAt == nil && t.Before(e.EndsAt) {
			logDemo(logger, room, e)
			return nil
		}
	}
	if product.Stock < demoEventStock {
		stock := product.Stock + 10_000
		if product, err = svc.Products.UpdateProduct(sctx, product.ID, domain.ProductUpdate{Stock: &stock}); err != nil {
			return err
		}
	}
	starts := t.Add(DemoEventLead).Truncate(time.Second)
	e, err := svc.Events.CreateFlashEvent(sctx, domain.FlashEventCreate{
		ProductID: product.ID, LiveRoomID: room.ID, PriceCents: 4900, Stock: demoEventStock, PerUserLimit: 2,
		StartsAt: starts, EndsAt: starts.Add(30 * time.Minute),
	})
	if err != nil {
		return err
	}
	logDemo(logger, room, e)
	return nil
}

// demoProducts is the demo seller's catalog, each with a picture embedded
// in the binary; the first is the one on flash sale in the demo room.
var demoProducts = []domain.ProductCreate{
	{
		Name: demoProductName, Description: "Noise-cancelling earbuds with a 30-hour case. Flash price for viewers of the live room only.",
		PriceCents: 12900, Stock: 10_000, ImageURL: webdemo.ImageEarbuds, Published: true,
	},
	{
		Name: "Pulse Smartwatch", Description: "Heart rate, sleep and 7-day battery in a 40 mm case with a sport strap.",
		PriceCents: 19900, Stock: 500, ImageURL: webdemo.ImageSmartwatch, Published: true,
	},
	{
		Name: "Boom Mini Speaker", Description: "A pocket speaker with 12 hours of play, splash-proof.",
		PriceCents: 5900, Stock: 800, ImageURL: webdemo.ImageSpeaker, Published: true,
	},
}

// ensureProducts makes sure the seller has every demo product, gives a
// picture to those seeded before products had one, and returns the first
// (the flash-sale product).
func ensureProducts(ctx context.Context, products domain.ProductService, sellerID string) (*domain.Product, error) {
	found, err := products.FindProducts(ctx, domain.ProductFilter{SellerID: sellerID, PageRequest: domain.PageRequest{First: domain.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	byName := map[string]*domain.Product{}
	for _, p := range found.Items {
		if byName[p.Name] == nil {
			byName[p.Name] = p
		}
	}
	var first *domain.Product
	for i, c := range demoProducts {
		p := byName[c.Name]
		switch {
		case p == nil:
			p, err = products.CreateProduct(ctx, c)
		case p.ImageURL == "":
			p, err = products.UpdateProduct(ctx, p.ID, domain.ProductUpdate{ImageURL: &c.ImageURL})
		}
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = p
		}
	}
	return first, nil
}

// ensureUser returns the account with email, creating it with
// DemoPassword when missing.
func ensureUser(ctx context.Context, accounts demoAccounts, email, name string, role domain.Role) (*domain.User, error) {
	u, err := accounts.CreateUser(ctx, domain.Registration{Email: email, Password: DemoPassword, DisplayName: name, Role: role})
	if domain.ErrorCode(err) != domain.ECONFLICT {
		return u, err
	}
	s, err := accounts.Login(ctx, email, DemoPassword)
	if err != nil {
		return nil, fmt.Errorf("demo account %s exists with another password: %w", email, err)
	}
	return s.User, nil
}

func logDemo(logger *slog.Logger, room *domain.LiveRoom, e *domain.FlashEvent) {
	logger.Info("demo data ready",
		"seller", DemoSellerEmail, "buyer", DemoBuyerEmail, "password", DemoPassword,
		"live_room", room.ID, "flash_event", e.ID, "starts_at", e.StartsAt.UTC().Format(time.RFC3339))
}
