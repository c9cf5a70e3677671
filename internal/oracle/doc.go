// Package oracle is a second, deliberately simple implementation of the
// published 2021/22 tariff and of the rules for what a school owes for one
// session (README, Decisions: "What a school owes for one session"), written
// from those texts alone. A property test replays random booking histories
// through the real services and through Replay, and compares what Traded
// invoiced with what the oracle says is owed.
//
// It is a reference, not an optimisation: everything is worked out again
// from the whole history each time it is asked. It imports nothing of
// Traded, only the standard library, so a mistake in Traded's pricing cannot
// be copied into it. Money is int64 pence.
//
// It owns no tables and imports only the standard library: it must not share
// code with what it checks.
package oracle
