// Package auth implements flashlive's credentials: argon2id password hashes
// (Hasher) and HS256 JWT access tokens (Tokens, golang-jwt v5). Both are
// pure computation; accounts and refresh tokens live in storage/postgres.
package auth
