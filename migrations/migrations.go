// Package migrations holds flashlive's PostgreSQL schema as numbered
// golang-migrate files, embedded in the binary. A file that has landed is
// never edited: a change is a new pair of files.
package migrations

import "embed"

// FS holds the NNNN_what.up.sql / .down.sql files.
//
//go:embed *.sql
var FS embed.FS
