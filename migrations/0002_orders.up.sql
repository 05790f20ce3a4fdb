-- Orders: flash orders (one item, written asynchronously from the order
-- stream, id made by the app before the reservation) and cart orders.

CREATE TABLE orders (
    id              text COLLATE "C" PRIMARY KEY,
    buyer_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    flash_event_id  text COLLATE "C" REFERENCES flash_events (id),
    -- Cart orders only: the buyer's key; a retry returns the first order.
    idempotency_key text,
    total_cents     bigint NOT NULL CHECK (total_cents >= 0),
    status          text NOT NULL CHECK (status IN ('PENDING', 'AWAITING_PAYMENT', 'PAID', 'COMPLETED', 'CANCELLED', 'EXPIRED')),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    paid_at         timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX orders_buyer_idempotency_key ON orders (buyer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id);
CREATE INDEX orders_event_idx ON orders (flash_event_id, status) WHERE flash_event_id IS NOT NULL;
CREATE INDEX orders_due_idx ON orders (expires_at) WHERE status = 'AWAITING_PAYMENT';

CREATE TABLE order_items (
    order_id         text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       text COLLATE "C" NOT NULL REFERENCES products (id),
    seller_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_seller_idx ON order_items (seller_id, order_id);
