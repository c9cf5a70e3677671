// Package migrations holds Traded's schema as ordered SQL files, embedded in
// the binary. Each file is applied once, in name order, in one transaction,
// and its name recorded in schema_migrations. A merged migration never
// changes: a correction is a new file.
//
// It owns the schema (each domain owns its tables within it: see
// arch_test.go) and imports only the standard library.
package migrations
