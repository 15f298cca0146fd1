package web

import (
	"embed"
	"io/fs"
)

// Static holds the embedded static assets under the folder "static": the
// stylesheet (static/css/app.css), the page scripts (static/js/*.js) and the
// vendored libraries with their licences (static/vendor: htmx 2.0.11,
// htmx-ext-sse 2.2.4, uPlot 1.6.32). Pages link them as /static/..., so serve
// StaticRoot() (or echo.MustSubFS(web.Static, "static")) under /static/.
//
//go:embed static
var Static embed.FS

// StaticRoot returns the static assets with the "static/" prefix removed, the
// file system to serve at /static/.
func StaticRoot() fs.FS {
	sub, err := fs.Sub(Static, "static")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "static" is valid.
		return Static
	}
	return sub
}
