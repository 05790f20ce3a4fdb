DROP TABLE IF EXISTS flash_idempotency_keys;
