package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"traded/jobs"
	"traded/web"
)

// TestJobs_Page: admins see each background job's last run, what it did
// and its last error, on the page and through the API.
func TestJobs_Page(t *testing.T) {
	runner := jobs.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	runner.Add(jobs.Job{Name: "monthly booking invoices", Every: time.Hour, Run: func(context.Context) (string, error) { return "2 invoices for 3 bookings", nil }},
		jobs.Job{Name: "payment reminders", Every: time.Hour, Run: func(context.Context) (string, error) { return "", errors.New("no term dates for 2026/27") }},
		jobs.Job{Name: "sweep expired sessions", Every: time.Hour, Run: func(context.Context) (string, error) { return "", nil }})
	runner.RunDue(context.Background())
	app := newAccountsApp(t, web.Config{Dev: true, Jobs: runner})
	admin := app.agent(t)
	admin.signIn(adminEmail)
	p := admin.get("/admin/jobs")
	wantStatus(t, "GET /admin/jobs", p, http.StatusOK)
	for _, want := range []string{"monthly booking invoices", "2 invoices for 3 bookings", "payment reminders", "Failed", "no term dates for 2026/27", "nothing to do"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("jobs page does not show %q: %s", want, excerpt(p.body))
		}
	}
	status, body := app.do("GET", "/api/v1/jobs", "", "Authorization", app.token(t, adminEmail))
	if status != http.StatusOK || !strings.Contains(body, `"last_error":"no term dates for 2026/27"`) || !strings.Contains(body, `"every_seconds":3600`) {
		t.Errorf("GET /api/v1/jobs: %d %s", status, body)
	}
}
