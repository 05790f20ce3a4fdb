ALTER TABLE flash_events DROP COLUMN waiting_room;
