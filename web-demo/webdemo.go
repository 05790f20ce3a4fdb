// Package webdemo holds the static files of flashlive's demo page, embedded
// in the binary and served at /.
package webdemo

import "embed"

// FS holds the demo's files; index.html is the page at /.
//
//go:embed *.html
var FS embed.FS
