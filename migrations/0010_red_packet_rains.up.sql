-- Red-packet rains (F14): the amounts are split when the rain is created
-- and never change; a grab takes one packet for one buyer; a refund gives
-- the seller what nobody grabbed, once per rain.
CREATE TABLE red_packet_rains (
    id          text COLLATE "C" PRIMARY KEY,
    room_id     text COLLATE "C" NOT NULL REFERENCES live_rooms (id),
    seller_id   text COLLATE "C" NOT NULL REFERENCES users (id),
    total_cents bigint NOT NULL CHECK (total_cents >= 1),
    amounts     bigint[] NOT NULL CHECK (cardinality(amounts) BETWEEN 1 AND total_cents),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_at  timestamptz NOT NULL
);
CREATE INDEX red_packet_rains_room ON red_packet_rains (room_id, id DESC);
CREATE INDEX red_packet_rains_ends ON red_packet_rains (ends_at);

-- One packet per buyer per rain, one buyer per packet.
CREATE TABLE red_packet_grabs (
    id              text COLLATE "C" PRIMARY KEY,
    rain_id         text COLLATE "C" NOT NULL REFERENCES red_packet_rains (id),
    buyer_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    packet_index    int NOT NULL CHECK (packet_index >= 0),
    amount_cents    bigint NOT NULL CHECK (amount_cents >= 1),
    idempotency_key text NOT NULL,
    grabbed_at      timestamptz NOT NULL,
    UNIQUE (rain_id, buyer_id),
    UNIQUE (rain_id, packet_index)
);
CREATE INDEX red_packet_grabs_buyer ON red_packet_grabs (buyer_id, id DESC);

-- At most one refund per rain: the primary key makes a second one a no-op.
CREATE TABLE red_packet_refunds (
    rain_id     text COLLATE "C" PRIMARY KEY REFERENCES red_packet_rains (id),
    seller_id   text COLLATE "C" NOT NULL REFERENCES users (id),
    cents       bigint NOT NULL CHECK (cents >= 0),
    refunded_at timestamptz NOT NULL
);
