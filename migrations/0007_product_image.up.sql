-- A product's picture: an http(s) URL or a path on this server, '' when it
-- has none (domain.validateImageURL decides what is allowed; the length is
-- bounded here too).
ALTER TABLE products
    ADD COLUMN image_url text NOT NULL DEFAULT ''
        CHECK (char_length(image_url) <= 2048);
