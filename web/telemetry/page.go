// Package telemetryweb holds the local telemetry test page: submit a
// reading, query a sensor's history with paging, and chart it. It replaces
// the seed's test page, which embedded AWS keys; this one talks only to the
// same-origin dev server.
package telemetryweb

import (
	"embed"
	"io/fs"
)

//go:embed index.html
var files embed.FS

// FS returns the page's files, index.html at the root.
func FS() fs.FS { return files }
