// Package storetest opens real, migrated SQLite databases for tests.
//
// It owns nothing; it imports store, the root package and the standard
// library, and is for tests.
package storetest
