//go:build race

package web_test

// raceEnabled is whether the race detector is on: tests that count on
// volume do less under it.
const raceEnabled = true
