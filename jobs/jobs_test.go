package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func TestRunner(t *testing.T) {
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	woken := 0
	r.After = func() { woken++ }
	minutely, hourly := 0, 0
	r.Add(Job{Name: "expire offers", Every: time.Minute, Run: func(context.Context) (string, error) { minutely++; return "", nil }},
		Job{Name: "monthly invoices", Every: time.Hour, Run: func(context.Context) (string, error) {
			hourly++
			if hourly == 2 {
				return "", errors.New("no price list")
			}
			return "2 invoices", nil
		}})
	ctx := context.Background()
	if n := r.RunDue(ctx); n != 2 {
		t.Fatalf("at start %d jobs ran, want both", n)
	}
	for range 59 {
		now = now.Add(time.Minute)
		r.RunDue(ctx)
	}
	if minutely != 60 || hourly != 1 {
		t.Errorf("after 59 minutes: %d and %d runs, want 60 and 1", minutely, hourly)
	}
	now = now.Add(time.Minute)
	r.RunDue(ctx)
	st := r.Status()
	if st[1].Runs != 2 || st[1].LastError != "no price list" || st[1].Failures != 1 || !st[1].LastStart.Equal(now) {
		t.Errorf("hourly status after its failing run: %+v", st[1])
	}
	now = now.Add(time.Hour)
	r.RunDue(ctx)
	if st := r.Status()[1]; st.LastError != "" || st.LastResult != "2 invoices" || st.Failures != 1 {
		t.Errorf("a later success clears the error but not the count: %+v", st)
	}
	if woken != minutely+hourly {
		t.Errorf("After called %d times for %d runs", woken, minutely+hourly)
	}
	for _, bad := range []Job{{Name: "", Every: time.Hour, Run: func(context.Context) (string, error) { return "", nil }},
		{Name: "fast", Every: time.Millisecond, Run: func(context.Context) (string, error) { return "", nil }},
		{Name: "expire offers", Every: time.Hour, Run: func(context.Context) (string, error) { return "", nil }}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%q every %v) did not panic", bad.Name, bad.Every)
				}
			}()
			r.Add(bad)
		}()
	}
}

// TestRunner_Stopped: a job cut short by the end of ctx is not recorded as
// a failure, and runs again at the next start.
func TestRunner_Stopped(t *testing.T) {
	r := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	r.Add(Job{Name: "slow", Every: time.Hour, Run: func(ctx context.Context) (string, error) { cancel(); return "", ctx.Err() }})
	r.RunDue(ctx)
	if st := r.Status()[0]; st.Runs != 0 || st.Failures != 0 {
		t.Errorf("a stopped run was recorded: %+v", st)
	}
}
