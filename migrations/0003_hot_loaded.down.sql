ALTER TABLE flash_events DROP COLUMN IF EXISTS hot_loaded_at;
