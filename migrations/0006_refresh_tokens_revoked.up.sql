-- Every instance reads the sessions revoked lately (AuthService.SyncRevocations)
-- to refuse their access tokens; this keeps that read off the whole table.
CREATE INDEX refresh_tokens_revoked_idx ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
