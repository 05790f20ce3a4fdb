-- When an event was first loaded into the hot stock. A later load is a
-- rebuild (the hot stock lost it) and waits for the order stream to settle;
-- the first one has nothing in flight to wait for.
ALTER TABLE flash_events ADD COLUMN hot_loaded_at timestamptz;
