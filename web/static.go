package web

import "embed"

// staticFS holds the stylesheet, scripts and icons served under /static/.
// They are built from govuk-frontend by scripts/build-assets.sh and
// committed, so building Traded needs no npm.
//
//go:embed static
var staticFS embed.FS
