// Package migrations holds Traded's schema as ordered SQL files, embedded in
// the binary. Each file is applied once, in name order, in one transaction,
// and its name recorded in schema_migrations. A merged migration never
// changes: a correction is a new file.
package migrations

import "embed"

// FS holds the migration files, 0001_name.sql onwards.
//
//go:embed *.sql
var FS embed.FS
