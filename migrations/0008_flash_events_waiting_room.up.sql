-- A flash event may sell only through its waiting room (F15): purchase
-- tokens then come from admission, never from flashPurchaseToken.
ALTER TABLE flash_events ADD COLUMN waiting_room boolean NOT NULL DEFAULT false;
