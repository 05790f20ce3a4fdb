-- The order writer checks each buyer's units in an event for every batch:
-- find them by (event, buyer), not by scanning every order of the event.
CREATE INDEX orders_event_buyer_idx ON orders (flash_event_id, buyer_id) WHERE flash_event_id IS NOT NULL;
