-- The idempotency keys of RESERVED flash answers, written with their order
-- by the order writer. The hot stock (Redis) answers repeated keys; when it
-- is rebuilt after losing its data, it gets these back, so a retry of an
-- old key still gets its first answer and never buys twice.
CREATE TABLE flash_idempotency_keys (
    flash_event_id  text COLLATE "C" NOT NULL REFERENCES flash_events (id),
    buyer_id        text COLLATE "C" NOT NULL,
    idempotency_key text NOT NULL,
    order_id        text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- the stock left that the answer reported
    remaining_after integer NOT NULL CHECK (remaining_after >= 0),
    PRIMARY KEY (flash_event_id, buyer_id, idempotency_key)
);
