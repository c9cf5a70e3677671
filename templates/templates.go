package templates

import "embed"

// FS holds the page templates and partials.
//
//go:embed *.html partials/*.html
var FS embed.FS
