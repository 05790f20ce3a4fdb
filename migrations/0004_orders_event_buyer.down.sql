DROP INDEX IF EXISTS orders_event_buyer_idx;
