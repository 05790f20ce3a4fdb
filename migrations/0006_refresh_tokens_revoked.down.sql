DROP INDEX IF EXISTS refresh_tokens_revoked_idx;
