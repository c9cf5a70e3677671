package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"traded/app"
	"traded/billing"
	"traded/jobs"
	"traded/mail"
	"traded/notify"
	"traded/store/storetest"
)

// TestApp_Wiring: the services are connected, every attachment kind they
// queue has its renderer (a worker accepts them all), and their jobs have
// distinct names and run on an empty database without error.
func TestApp_Wiring(t *testing.T) {
	db, _ := storetest.Open(t)
	a := app.New(db, app.Config{BaseURL: "https://traded.test"})
	if a.Booking.Charger == nil || a.Booking.Notifier == nil {
		t.Fatal("booking is not connected to billing and notify")
	}
	if a.Consultancy == nil || a.Consultancy.Notifier == nil {
		t.Fatal("consultancy is not connected to notify")
	}
	if a.BillingConfig().BaseURL != "https://traded.test" || a.BillingConfig().Supplier.Name == "" {
		t.Errorf("billing config %+v: want the default supplier at the base URL", a.BillingConfig())
	}
	w := mail.NewWorker(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := w.Register(a.Renderers()...); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{billing.InvoiceAttachment, notify.InviteAttachment} {
		if !w.Renders(kind) {
			t.Errorf("nothing renders %q attachments", kind)
		}
	}
	if err := w.Register(a.Renderers()[0]); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("registering a kind twice: %v", err)
	}
	r := jobs.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Add(a.Jobs()...) // panics on a duplicate name
	if n := r.RunDue(context.Background()); n != len(a.Jobs()) {
		t.Errorf("%d of %d jobs ran at start", n, len(a.Jobs()))
	}
	for _, st := range r.Status() {
		if st.LastError != "" {
			t.Errorf("job %q on an empty database: %s", st.Name, st.LastError)
		}
	}
}
