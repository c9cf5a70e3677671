// Package store is Traded's database helper: one SQLite file opened as a
// single-connection writer pool and a reader pool, the embedded migrations,
// and write transactions stamped by the injected clock.
//
// Every domain package uses it; it knows nothing of the domain. With one
// writer connection and BEGIN IMMEDIATE, a check-then-insert inside Write
// (capacity, entitlement, the next invoice number) cannot race.
//
// It owns its own machinery's tables (schema_migrations, audit_log,
// store_health) and number_series, the gap-free numbering every domain
// takes from (Tx.NextNumber). It may import migrations and the root package
// traded; nothing of the domain.
package store
