// Package webdemo holds the static files of flashlive's demo page, embedded
// in the binary and served at /.
package webdemo

import "embed"

// FS holds the demo's files: index.html (the live-room page at /),
// seller.html (the seller console), their scripts and the stylesheet.
//
//go:embed *.html *.js *.css
var FS embed.FS
