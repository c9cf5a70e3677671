package traded

import (
	"sync"
	"time"
	_ "time/tzdata" // Europe/London must load on a machine without a zone database
)

// Clock tells the time. Every timestamp Traded writes comes from the one clock
// injected at start, so tests can fix it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// FixedClock is a clock for tests: it says the time it was set to until told
// otherwise. It is safe for concurrent use.
type FixedClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFixedClock returns a FixedClock set to t.
func NewFixedClock(t time.Time) *FixedClock { return &FixedClock{t: t.UTC()} }

// Now returns the time the clock is set to.
func (c *FixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *FixedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t.UTC()
}

// Advance moves the clock on by d.
func (c *FixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// London is Europe/London, the zone every time is shown to people in. The
// zone database is embedded (time/tzdata above) so this never fails on a
// machine without one.
var London = mustLoadLondon()

func mustLoadLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("traded: load Europe/London: " + err.Error())
	}
	return loc
}

// OffsetClock runs in real time from a chosen starting instant: a demo can
// be shown, or a browser test run, as if it were another day.
type OffsetClock struct {
	offset time.Duration
}

// NewOffsetClock returns a clock that says start now and runs on from it.
func NewOffsetClock(start time.Time) *OffsetClock {
	return &OffsetClock{offset: start.Sub(time.Now())}
}

// Now returns the real time moved by the offset, in UTC.
func (c *OffsetClock) Now() time.Time { return time.Now().Add(c.offset).UTC() }
