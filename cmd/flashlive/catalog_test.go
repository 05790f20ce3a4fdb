package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	createProduct    = `mutation($in: CreateProductInput!) { createProduct(input: $in) { id name description priceCents stock published seller { id } } }`
	updateProduct    = `mutation($id: ID!, $in: UpdateProductInput!) { updateProduct(id: $id, input: $in) { id name priceCents stock published } }`
	createRoom       = `mutation($in: CreateLiveRoomInput!) { createLiveRoom(input: $in) { id title status } }`
	startRoom        = `mutation($id: ID!) { startLiveRoom(id: $id) { id status } }`
	endRoom          = `mutation($id: ID!) { endLiveRoom(id: $id) { id status } }`
	createEvent      = `mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { id stock remaining perUserLimit status startsAt endsAt product { id stock } liveRoom { id } } }`
	closeEvent       = `mutation($id: ID!) { closeFlashEvent(id: $id) { id status } }`
	productByIDQuery = `query($id: ID!) { product(id: $id) { id name published } }`
)

type product struct {
	ID, Name, Description string
	PriceCents, Stock     int64
	Published             bool
	Seller                struct{ ID string }
}

type event struct {
	ID                             string
	Stock, Remaining, PerUserLimit int
	Status, StartsAt, EndsAt       string
	Product                        struct {
		ID    string
		Stock int
	}
	LiveRoom *struct{ ID string }
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (c *client) newProduct(t testing.TB, name string, stock int) product {
	t.Helper()
	var out struct{ CreateProduct product }
	c.must(t, createProduct, map[string]any{"in": map[string]any{"name": name, "priceCents": 1999, "stock": stock}}, &out)
	return out.CreateProduct
}

func (c *client) newRoom(t testing.TB, title string) string {
	t.Helper()
	var out struct{ CreateLiveRoom struct{ ID, Status string } }
	c.must(t, createRoom, map[string]any{"in": map[string]any{"title": title}}, &out)
	if out.CreateLiveRoom.Status != "SCHEDULED" {
		t.Fatalf("new room status = %q, want SCHEDULED", out.CreateLiveRoom.Status)
	}
	return out.CreateLiveRoom.ID
}

func (c *client) newEvent(t testing.TB, in map[string]any) event {
	t.Helper()
	var out struct{ CreateFlashEvent event }
	c.must(t, createEvent, map[string]any{"in": in}, &out)
	return out.CreateFlashEvent
}

func eventInput(productID, roomID string, starts time.Time, stock int) map[string]any {
	in := map[string]any{
		"productId": productID, "priceCents": 999, "stock": stock, "perUserLimit": 2,
		"startsAt": ts(starts), "endsAt": ts(starts.Add(time.Hour)),
	}
	if roomID != "" {
		in["liveRoomId"] = roomID
	}
	return in
}

func TestSellerCatalogFlow(t *testing.T) {
	app := startApp(t, nil)
	seller, s := app.register(t, "SELLER")

	p := seller.newProduct(t, "Sneakers", 100)
	if p.Seller.ID != s.User.ID || !p.Published || p.Stock != 100 {
		t.Fatalf("product = %+v", p)
	}
	room := seller.newRoom(t, "Drop night")
	var started struct{ StartLiveRoom struct{ Status string } }
	seller.must(t, startRoom, map[string]any{"id": room}, &started)
	if started.StartLiveRoom.Status != "LIVE" {
		t.Fatalf("started room status = %q", started.StartLiveRoom.Status)
	}
	seller.wantCode(t, "CONFLICT", startRoom, map[string]any{"id": room})

	now := app.Clock.Now()
	// Ten minutes long, so that the clock can pass its end while the
	// access token (15 minutes) is still good.
	ev := seller.newEvent(t, merge(eventInput(p.ID, room, now.Add(time.Minute), 30), "endsAt", ts(now.Add(11*time.Minute))))
	if got, want := ev.Product.Stock, 70; got != want {
		t.Fatalf("product stock after event = %d, want %d (the event takes its stock)", got, want)
	}
	if ev.Status != "SCHEDULED" || ev.Remaining != 30 || ev.Stock != 30 || ev.PerUserLimit != 2 || ev.LiveRoom == nil || ev.LiveRoom.ID != room {
		t.Fatalf("event = %+v", ev)
	}
	if !strings.HasSuffix(ev.StartsAt, "Z") || len(ev.StartsAt) != len("2026-11-24T12:00:00.000Z") {
		t.Fatalf("startsAt = %q, want RFC 3339 UTC with milliseconds", ev.StartsAt)
	}
	// An event that needs more than the product has left is refused, and
	// takes nothing.
	seller.wantCode(t, "CONFLICT", createEvent, map[string]any{"in": eventInput(p.ID, room, now.Add(time.Minute), 71)})

	// The room lists its events; the status follows the clock.
	q := `query($id: ID!) { liveRoom(id: $id) { title status viewerCount seller { id } flashEvents { id status remaining } } }`
	var lr struct {
		LiveRoom struct {
			Title, Status string
			ViewerCount   int
			FlashEvents   []struct {
				ID, Status string
				Remaining  int
			}
		}
	}
	app.anon().must(t, q, map[string]any{"id": room}, &lr)
	if len(lr.LiveRoom.FlashEvents) != 1 || lr.LiveRoom.FlashEvents[0].ID != ev.ID || lr.LiveRoom.FlashEvents[0].Status != "SCHEDULED" {
		t.Fatalf("room = %+v", lr.LiveRoom)
	}
	app.Clock.Advance(2 * time.Minute)
	app.anon().must(t, q, map[string]any{"id": room}, &lr)
	if got := lr.LiveRoom.FlashEvents[0].Status; got != "LIVE" {
		t.Fatalf("status after start = %q, want LIVE", got)
	}
	app.Clock.Advance(10 * time.Minute)
	app.anon().must(t, q, map[string]any{"id": room}, &lr)
	if got := lr.LiveRoom.FlashEvents[0].Status; got != "ENDED" {
		t.Fatalf("status after end = %q, want ENDED", got)
	}

	// Closing is irreversible: the second close is a conflict.
	ev2 := seller.newEvent(t, eventInput(p.ID, "", app.Clock.Now().Add(time.Minute), 10))
	var closed struct{ CloseFlashEvent struct{ Status string } }
	seller.must(t, closeEvent, map[string]any{"id": ev2.ID}, &closed)
	if closed.CloseFlashEvent.Status != "CLOSED" {
		t.Fatalf("closed status = %q", closed.CloseFlashEvent.Status)
	}
	r := seller.wantCode(t, "CONFLICT", closeEvent, map[string]any{"id": ev2.ID})
	if !strings.Contains(r.Errors[0].Message, "closed") {
		t.Fatalf("second close message = %q", r.Errors[0].Message)
	}

	var ended struct{ EndLiveRoom struct{ Status string } }
	seller.must(t, endRoom, map[string]any{"id": room}, &ended)
	seller.wantCode(t, "CONFLICT", endRoom, map[string]any{"id": room})
	seller.wantCode(t, "CONFLICT", startRoom, map[string]any{"id": room})
	// No new events in an ended room.
	seller.wantCode(t, "CONFLICT", createEvent, map[string]any{"in": eventInput(p.ID, room, app.Clock.Now().Add(time.Minute), 1)})
}

func TestRolesAndOwnership(t *testing.T) {
	app := startApp(t, nil)
	alice, _ := app.register(t, "SELLER")
	bob, _ := app.register(t, "SELLER")
	buyer, _ := app.register(t, "BUYER")
	anon := app.anon()

	p := alice.newProduct(t, "Alice's lamp", 10)
	room := alice.newRoom(t, "Alice live")
	ev := alice.newEvent(t, eventInput(p.ID, room, app.Clock.Now().Add(time.Minute), 5))
	bobsRoom := bob.newRoom(t, "Bob live")

	productIn := map[string]any{"in": map[string]any{"name": "x", "priceCents": 1, "stock": 1}}
	// Buyers and anonymous callers may not use seller mutations.
	for _, c := range []struct {
		who  *client
		code string
	}{{buyer, "FORBIDDEN"}, {anon, "UNAUTHENTICATED"}} {
		c.who.wantCode(t, c.code, createProduct, productIn)
		c.who.wantCode(t, c.code, createRoom, map[string]any{"in": map[string]any{"title": "x"}})
		c.who.wantCode(t, c.code, updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"name": "mine"}})
		c.who.wantCode(t, c.code, startRoom, map[string]any{"id": room})
		c.who.wantCode(t, c.code, closeEvent, map[string]any{"id": ev.ID})
		c.who.wantCode(t, c.code, createEvent, map[string]any{"in": eventInput(p.ID, "", app.Clock.Now().Add(time.Minute), 1)})
	}

	// Bob may not touch Alice's things.
	bob.wantCode(t, "FORBIDDEN", updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"name": "Bob's now"}})
	bob.wantCode(t, "FORBIDDEN", startRoom, map[string]any{"id": room})
	bob.wantCode(t, "FORBIDDEN", endRoom, map[string]any{"id": room})
	bob.wantCode(t, "FORBIDDEN", closeEvent, map[string]any{"id": ev.ID})
	bob.wantCode(t, "FORBIDDEN", createEvent, map[string]any{"in": eventInput(p.ID, "", app.Clock.Now().Add(time.Minute), 1)})
	// Nor pin his event into her room, nor hers into his.
	bp := bob.newProduct(t, "Bob's mug", 10)
	bob.wantCode(t, "FORBIDDEN", createEvent, map[string]any{"in": eventInput(bp.ID, room, app.Clock.Now().Add(time.Minute), 1)})
	alice.wantCode(t, "FORBIDDEN", createEvent, map[string]any{"in": eventInput(p.ID, bobsRoom, app.Clock.Now().Add(time.Minute), 1)})

	// Nothing changed.
	var got struct{ Product product }
	anon.must(t, productByIDQuery, map[string]any{"id": p.ID}, &got)
	if got.Product.Name != "Alice's lamp" {
		t.Fatalf("product name = %q after refused updates", got.Product.Name)
	}

	// Unknown IDs are NOT_FOUND for mutations, null for lookups.
	alice.wantCode(t, "NOT_FOUND", updateProduct, map[string]any{"id": "prd_nope", "in": map[string]any{"name": "x"}})
	alice.wantCode(t, "NOT_FOUND", closeEvent, map[string]any{"id": "evt_nope"})
	alice.wantCode(t, "NOT_FOUND", createEvent, map[string]any{"in": eventInput("prd_nope", "", app.Clock.Now().Add(time.Minute), 1)})
	var none struct{ Product *product }
	anon.must(t, productByIDQuery, map[string]any{"id": "prd_nope"}, &none)
	if none.Product != nil {
		t.Fatalf("unknown product = %+v, want null", none.Product)
	}

	// Unpublished products: their seller sees them, nobody else does.
	var hidden struct{ CreateProduct product }
	alice.must(t, createProduct, map[string]any{"in": map[string]any{"name": "Secret", "priceCents": 5, "stock": 1, "published": false}}, &hidden)
	for name, c := range map[string]*client{"buyer": buyer, "anonymous": anon, "other seller": bob} {
		var out struct{ Product *product }
		c.must(t, productByIDQuery, map[string]any{"id": hidden.CreateProduct.ID}, &out)
		if out.Product != nil {
			t.Fatalf("%s sees the unpublished product", name)
		}
		var list struct {
			Products struct{ Edges []struct{ Node product } }
		}
		c.must(t, `{ products(first: 100) { edges { node { id } } } }`, nil, &list)
		for _, e := range list.Products.Edges {
			if e.Node.ID == hidden.CreateProduct.ID {
				t.Fatalf("%s lists the unpublished product", name)
			}
		}
	}
	var mine struct{ Product *product }
	alice.must(t, productByIDQuery, map[string]any{"id": hidden.CreateProduct.ID}, &mine)
	if mine.Product == nil {
		t.Fatal("the seller cannot see her own unpublished product")
	}

	// Emails are shown to their owner only.
	var seller struct {
		Product struct{ Seller struct{ Email string } }
	}
	buyer.must(t, `query($id: ID!) { product(id: $id) { seller { email } } }`, map[string]any{"id": p.ID}, &seller)
	if !strings.Contains(seller.Product.Seller.Email, "***") {
		t.Fatalf("a buyer sees the seller's email %q", seller.Product.Seller.Email)
	}
}

func TestCatalogValidation(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Base", 1000)
	room := seller.newRoom(t, "Room")
	now := app.Clock.Now()

	cases := []struct {
		name, query string
		vars        map[string]any
		word        string
	}{
		{"empty product name", createProduct, map[string]any{"in": map[string]any{"name": "", "priceCents": 1, "stock": 1}}, "name"},
		{"blank-only control name", createProduct, map[string]any{"in": map[string]any{"name": "a\x00b", "priceCents": 1, "stock": 1}}, "name"},
		{"oversized name", createProduct, map[string]any{"in": map[string]any{"name": strings.Repeat("n", 201), "priceCents": 1, "stock": 1}}, "name"},
		{"oversized description", createProduct, map[string]any{"in": map[string]any{"name": "n", "description": strings.Repeat("d", 5001), "priceCents": 1, "stock": 1}}, "description"},
		{"negative price", createProduct, map[string]any{"in": map[string]any{"name": "n", "priceCents": -1, "stock": 1}}, "priceCents"},
		{"negative stock", createProduct, map[string]any{"in": map[string]any{"name": "n", "priceCents": 1, "stock": -5}}, "stock"},
		{"update: empty name", updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"name": ""}}, "name"},
		{"update: negative price", updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"priceCents": -3}}, "priceCents"},
		{"update: negative stock", updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"stock": -1}}, "stock"},
		{"script image", createProduct, map[string]any{"in": map[string]any{"name": "n", "priceCents": 1, "stock": 1, "imageUrl": "javascript:alert(1)"}}, "imageUrl"},
		{"oversized image", createProduct, map[string]any{"in": map[string]any{"name": "n", "priceCents": 1, "stock": 1, "imageUrl": "/" + strings.Repeat("i", 2048)}}, "imageUrl"},
		{"update: protocol-relative image", updateProduct, map[string]any{"id": p.ID, "in": map[string]any{"imageUrl": "//evil.example/a.png"}}, "imageUrl"},
		{"empty room title", createRoom, map[string]any{"in": map[string]any{"title": ""}}, "title"},
		{"oversized room title", createRoom, map[string]any{"in": map[string]any{"title": strings.Repeat("t", 201)}}, "title"},
		{"event: negative price", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Minute), 1), "priceCents", -1)}, "priceCents"},
		{"event: zero stock", createEvent, map[string]any{"in": eventInput(p.ID, room, now.Add(time.Minute), 0)}, "stock"},
		{"event: negative stock", createEvent, map[string]any{"in": eventInput(p.ID, room, now.Add(time.Minute), -1)}, "stock"},
		{"event: perUserLimit 0", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Minute), 1), "perUserLimit", 0)}, "perUserLimit"},
		{"event: startsAt = endsAt", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Minute), 1), "endsAt", ts(now.Add(time.Minute)))}, "startsAt"},
		{"event: startsAt after endsAt", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Hour), 1), "endsAt", ts(now.Add(time.Minute)))}, "startsAt"},
		{"event: in the past", createEvent, map[string]any{"in": eventInput(p.ID, room, now.Add(-3*time.Hour), 1)}, "past"},
		{"event: bad time", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Minute), 1), "startsAt", "tomorrow")}, "RFC 3339"},
		{"event: too long", createEvent, map[string]any{"in": merge(eventInput(p.ID, room, now.Add(time.Minute), 1), "endsAt", ts(now.Add(40*24*time.Hour)))}, "days"},
		{"page: negative first", `{ products(first: -1) { edges { cursor } } }`, nil, "first"},
		{"page: forged cursor", `{ products(after: "not-a-cursor") { edges { cursor } } }`, nil, "cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := seller.wantCode(t, "INVALID", tc.query, tc.vars)
			if !strings.Contains(r.Errors[0].Message, tc.word) {
				t.Fatalf("message %q does not mention %q", r.Errors[0].Message, tc.word)
			}
		})
	}
	// None of the refused events took stock.
	var got struct{ Product product }
	seller.must(t, `query($id: ID!) { product(id: $id) { stock } }`, map[string]any{"id": p.ID}, &got)
	if got.Product.Stock != 1000 {
		t.Fatalf("product stock = %d after refused events, want 1000", got.Product.Stock)
	}
}

// TestProductImageURL: a product's image is set on create, changed and
// removed on update, and reads back as null when it has none.
func TestProductImageURL(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	const q = `query($id: ID!) { product(id: $id) { imageUrl } }`
	type image struct{ ImageURL *string }
	read := func(id string) *string {
		var out struct{ Product image }
		app.anon().must(t, q, map[string]any{"id": id}, &out)
		return out.Product.ImageURL
	}
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}

	var created struct {
		CreateProduct struct {
			ID       string
			ImageURL *string
		}
	}
	seller.must(t, `mutation($in: CreateProductInput!) { createProduct(input: $in) { id imageUrl } }`,
		map[string]any{"in": map[string]any{"name": "Lamp", "priceCents": 2500, "stock": 3, "imageUrl": "/img/lamp.svg"}}, &created)
	id := created.CreateProduct.ID
	if got, want := str(created.CreateProduct.ImageURL), "/img/lamp.svg"; got != want {
		t.Fatalf("created imageUrl = %s, want %s", got, want)
	}
	if got, want := str(read(id)), "/img/lamp.svg"; got != want {
		t.Fatalf("stored imageUrl = %s, want %s", got, want)
	}

	const update = `mutation($id: ID!, $in: UpdateProductInput!) { updateProduct(id: $id, input: $in) { imageUrl } }`
	var updated struct{ UpdateProduct image }
	seller.must(t, update, map[string]any{"id": id, "in": map[string]any{"imageUrl": "https://cdn.example.com/lamp.png"}}, &updated)
	if got, want := str(updated.UpdateProduct.ImageURL), "https://cdn.example.com/lamp.png"; got != want {
		t.Fatalf("updated imageUrl = %s, want %s", got, want)
	}
	seller.must(t, update, map[string]any{"id": id, "in": map[string]any{"stock": 4}}, &updated)
	if got, want := str(read(id)), "https://cdn.example.com/lamp.png"; got != want {
		t.Fatalf("imageUrl after a stock update = %s, want %s (kept)", got, want)
	}
	seller.must(t, update, map[string]any{"id": id, "in": map[string]any{"imageUrl": ""}}, &updated)
	if got, want := str(updated.UpdateProduct.ImageURL), "<null>"; got != want {
		t.Fatalf("imageUrl after removing it = %s, want %s", got, want)
	}
	if got, want := str(read(seller.newProduct(t, "No picture", 1).ID)), "<null>"; got != want {
		t.Fatalf("imageUrl of a product created without one = %s, want %s", got, want)
	}
}

func merge(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

func TestPagination(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	var want []string
	for i := 0; i < 25; i++ {
		want = append(want, seller.newProduct(t, fmt.Sprintf("P%02d", i), 1).ID)
	}
	var got []string
	var after *string
	pages := 0
	for {
		var out struct {
			Products struct {
				Edges []struct {
					Cursor string
					Node   struct{ ID string }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		app.anon().must(t, `query($after: String) { products(first: 10, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after}, &out)
		pages++
		for _, e := range out.Products.Edges {
			got = append(got, e.Node.ID)
		}
		if n := len(out.Products.Edges); n > 0 && *out.Products.PageInfo.EndCursor != out.Products.Edges[n-1].Cursor {
			t.Fatalf("endCursor is not the last edge's cursor")
		}
		if !out.Products.PageInfo.HasNextPage {
			break
		}
		after = out.Products.PageInfo.EndCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 3 || len(got) != 25 {
		t.Fatalf("%d pages, %d products; want 3 pages, 25 products", pages, len(got))
	}
	for i := range got { // newest first
		if got[i] != want[len(want)-1-i] {
			t.Fatalf("product %d = %s, want %s (newest first, no gaps or repeats)", i, got[i], want[len(want)-1-i])
		}
	}

	// first is capped at 100.
	for i := 0; i < 80; i++ {
		seller.newProduct(t, fmt.Sprintf("Q%02d", i), 1)
	}
	var big struct {
		Products struct {
			Edges    []struct{ Cursor string }
			PageInfo struct{ HasNextPage bool }
		}
	}
	app.anon().must(t, `{ products(first: 1000) { edges { cursor } pageInfo { hasNextPage } } }`, nil, &big)
	if len(big.Products.Edges) != 100 || !big.Products.PageInfo.HasNextPage {
		t.Fatalf("first: 1000 gave %d edges (hasNext %v), want 100 and true", len(big.Products.Edges), big.Products.PageInfo.HasNextPage)
	}
}

func TestNodeAndEventFilters(t *testing.T) {
	app := startApp(t, nil)
	seller, s := app.register(t, "SELLER")
	p := seller.newProduct(t, "Watch", 100)
	room := seller.newRoom(t, "Room")
	now := app.Clock.Now()
	scheduled := seller.newEvent(t, eventInput(p.ID, room, now.Add(time.Hour), 5))
	live := seller.newEvent(t, eventInput(p.ID, room, now, 5))
	closed := seller.newEvent(t, eventInput(p.ID, room, now.Add(time.Minute), 5))
	seller.must(t, closeEvent, map[string]any{"id": closed.ID}, nil)

	q := `query($id: ID!) { node(id: $id) { id __typename ... on FlashEvent { status } ... on LiveRoom { title } ... on Product { name } ... on User { displayName } } }`
	for id, typ := range map[string]string{scheduled.ID: "FlashEvent", room: "LiveRoom", p.ID: "Product", s.User.ID: "User"} {
		var out struct {
			Node struct {
				ID       string
				Typename string `json:"__typename"`
			}
		}
		app.anon().must(t, q, map[string]any{"id": id}, &out)
		if out.Node.ID != id || out.Node.Typename != typ {
			t.Fatalf("node(%s) = %+v, want a %s", id, out.Node, typ)
		}
	}
	var none struct{ Node *struct{ ID string } }
	app.anon().must(t, q, map[string]any{"id": "what_is_this"}, &none)
	if none.Node != nil {
		t.Fatalf("node of an unknown id = %+v, want null", none.Node)
	}

	for status, want := range map[string]string{"SCHEDULED": scheduled.ID, "LIVE": live.ID, "CLOSED": closed.ID} {
		var out struct {
			FlashEvents struct {
				Edges []struct{ Node struct{ ID, Status string } }
			}
		}
		app.anon().must(t, `query($s: FlashEventStatus) { flashEvents(status: $s) { edges { node { id status } } } }`, map[string]any{"s": status}, &out)
		if len(out.FlashEvents.Edges) != 1 || out.FlashEvents.Edges[0].Node.ID != want || out.FlashEvents.Edges[0].Node.Status != status {
			t.Fatalf("flashEvents(status: %s) = %+v, want only %s", status, out.FlashEvents.Edges, want)
		}
	}
	var rooms struct {
		LiveRooms struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	app.anon().must(t, `{ liveRooms(status: LIVE) { edges { node { id } } } }`, nil, &rooms)
	if len(rooms.LiveRooms.Edges) != 0 {
		t.Fatalf("LIVE rooms = %+v, want none (the room is SCHEDULED)", rooms.LiveRooms.Edges)
	}
	app.anon().must(t, `{ liveRooms(status: SCHEDULED) { edges { node { id } } } }`, nil, &rooms)
	if len(rooms.LiveRooms.Edges) != 1 || rooms.LiveRooms.Edges[0].Node.ID != room {
		t.Fatalf("SCHEDULED rooms = %+v, want the room", rooms.LiveRooms.Edges)
	}
}
