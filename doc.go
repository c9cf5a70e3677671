// Package traded holds what every layer of Traded shares: the one error type
// that carries a user-safe message and a code the web layer maps to an HTTP
// status, and the clock every timestamp comes from.
//
// It imports nothing of ours, so any package may use it.
//
// It owns no tables. It may import only the standard library.
package traded
