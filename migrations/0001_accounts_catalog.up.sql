-- Accounts, sessions and the catalog.
-- IDs are text: a kind prefix (usr_, prd_, room_, evt_) and a ULID, so they
-- sort by creation time and keyset pagination can order by id alone
-- (byte order: COLLATE "C").

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('BUYER', 'SELLER', 'ADMIN')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Refresh tokens are stored as SHA-256 hashes. A family is every token
-- descended from one login; reuse of a used token revokes the family.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    family_id   text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE products (
    id          text COLLATE "C" PRIMARY KEY,
    seller_id   text COLLATE "C" NOT NULL REFERENCES users (id),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    stock       integer NOT NULL CHECK (stock >= 0),
    published   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_seller_idx ON products (seller_id, id);
CREATE INDEX products_published_idx ON products (id) WHERE published;

CREATE TABLE live_rooms (
    id         text COLLATE "C" PRIMARY KEY,
    seller_id  text COLLATE "C" NOT NULL REFERENCES users (id),
    title      text NOT NULL,
    status     text NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'LIVE', 'ENDED')),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at   timestamptz
);
CREATE INDEX live_rooms_status_idx ON live_rooms (status, id);

-- sold counts units in live orders; the CHECK makes PostgreSQL the last line
-- against overselling whatever happens to the hot stock.
CREATE TABLE flash_events (
    id             text COLLATE "C" PRIMARY KEY,
    product_id     text COLLATE "C" NOT NULL REFERENCES products (id),
    live_room_id   text COLLATE "C" REFERENCES live_rooms (id),
    seller_id      text COLLATE "C" NOT NULL REFERENCES users (id),
    price_cents    bigint NOT NULL CHECK (price_cents >= 0),
    stock          integer NOT NULL CHECK (stock > 0),
    sold           integer NOT NULL DEFAULT 0 CHECK (sold >= 0 AND sold <= stock),
    per_user_limit integer NOT NULL CHECK (per_user_limit >= 1),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    closed_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flash_events_window CHECK (starts_at < ends_at)
);
CREATE INDEX flash_events_room_idx ON flash_events (live_room_id, starts_at);
CREATE INDEX flash_events_window_idx ON flash_events (starts_at, ends_at) WHERE closed_at IS NULL;
