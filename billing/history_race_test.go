//go:build race

package billing_test

// Under the race detector the histories run about 4 times slower: fewer of
// them keep TestBookingHistories to a few seconds.
func init() { defaultHistories, defaultLedgerHistories = 60, 40 }
