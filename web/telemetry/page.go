// Package telemetryweb holds the local telemetry test page: submit a
// reading, query a sensor's history with paging, and chart it. It replaces
// the seed's test page, which embedded AWS keys; this one talks only to the
// same-origin dev server.
package telemetryweb

import (
	"embed"
	"io/fs"
)

//go:embed index.html page.js
var files embed.FS

// FS returns the page's files, index.html and its script page.js at the
// root. The script is a file, not inline, so that the console's
// Content-Security-Policy can forbid inline scripts.
func FS() fs.FS { return files }
