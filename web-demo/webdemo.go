// Package webdemo holds the static files of flashlive's demo page, embedded
// in the binary and served at /.
package webdemo

import "embed"

// FS holds the demo's files: index.html (the live-room page at /),
// seller.html (the seller console), their scripts, the stylesheet,
// favicon.svg and the demo products' pictures under img/ (drawn as SVG,
// so that the demo needs no network).
//
//go:embed *.html *.js *.css *.svg img/*.svg
var FS embed.FS

// Image paths of the demo products, as served at / (see FS).
const (
	ImageEarbuds    = "/img/earbuds.svg"
	ImageSmartwatch = "/img/smartwatch.svg"
	ImageSpeaker    = "/img/speaker.svg"
)
