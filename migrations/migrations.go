package migrations

import "embed"

// FS holds the migration files, 0001_name.sql onwards.
//
//go:embed *.sql
var FS embed.FS
