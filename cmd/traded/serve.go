package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/demo"
	"traded/jobs"
	"traded/mail"
	"traded/store"
	"traded/web"
)

// mailFlags are the SMTP settings, shared by serve and the commands that send mail.
type mailFlags struct {
	host, from, fromName, user, domain *string
	port                               *int
}

func addMailFlags(fs *flag.FlagSet) *mailFlags {
	return &mailFlags{
		host:     fs.String("smtp-host", "", "SMTP server for outgoing mail; empty prints mail to the log (env TRADED_SMTP_HOST)"),
		port:     fs.Int("smtp-port", 25, "SMTP port (env TRADED_SMTP_PORT)"),
		from:     fs.String("smtp-from", "traded.services@essex.gov.uk", "sender address (env TRADED_SMTP_FROM)"),
		fromName: fs.String("smtp-from-name", "Essex County Council traded services", "sender name (env TRADED_SMTP_FROM_NAME)"),
		user:     fs.String("smtp-user", "", "SMTP username; the password is read from TRADED_SMTP_PASSWORD"),
		domain:   fs.String("mail-domain", "traded.essex.gov.uk", "domain of Message-IDs (env TRADED_MAIL_DOMAIN)"),
	}
}

func (m *mailFlags) sender(log *slog.Logger) mail.Sender {
	if *m.host == "" {
		return &mail.Log{Log: log}
	}
	return &mail.SMTP{Host: *m.host, Port: *m.port, From: *m.from, FromName: *m.fromName,
		Username: *m.user, Password: os.Getenv("TRADED_SMTP_PASSWORD"), Domain: *m.domain}
}

// billingFlags are the supplier, bank and card settings.
type billingFlags struct {
	supplier, address, vat, email, phone *string
	bankName, bankAccountName, sortCode  *string
	account                              *string
	terms                                *int
	stripeKey, stripeAPI, stripeHook     *string
}

func addBillingFlags(fs *flag.FlagSet) *billingFlags {
	d := billing.DefaultConfig()
	return &billingFlags{
		supplier:        fs.String("supplier-name", d.Supplier.Name, "supplier name on invoices (env TRADED_SUPPLIER_NAME)"),
		address:         fs.String("supplier-address", strings.Join(d.Supplier.Address, ", "), "supplier address, lines separated by commas (env TRADED_SUPPLIER_ADDRESS)"),
		vat:             fs.String("vat-number", d.Supplier.VATNumber, "supplier VAT registration number (env TRADED_VAT_NUMBER)"),
		email:           fs.String("supplier-email", d.Supplier.Email, "contact email on invoices (env TRADED_SUPPLIER_EMAIL)"),
		phone:           fs.String("supplier-phone", d.Supplier.Phone, "contact telephone on invoices (env TRADED_SUPPLIER_PHONE)"),
		bankName:        fs.String("bank-name", d.Bank.BankName, "bank for BACS payments (env TRADED_BANK_NAME)"),
		bankAccountName: fs.String("bank-account-name", d.Bank.AccountName, "BACS account name (env TRADED_BANK_ACCOUNT_NAME)"),
		sortCode:        fs.String("bank-sort-code", d.Bank.SortCode, "BACS sort code (env TRADED_BANK_SORT_CODE)"),
		account:         fs.String("bank-account", d.Bank.Account, "BACS account number (env TRADED_BANK_ACCOUNT)"),
		terms:           fs.Int("payment-terms", d.PaymentTermsDays, "days from issue to due date (env TRADED_PAYMENT_TERMS_DAYS)"),
		stripeKey:       fs.String("stripe-key", "", "Stripe secret key; empty turns card payment off (env TRADED_STRIPE_SECRET_KEY)"),
		stripeAPI:       fs.String("stripe-api", "", "Stripe API address, for stripe-mock in tests (env TRADED_STRIPE_API)"),
		stripeHook:      fs.String("stripe-webhook-secret", "", "Stripe webhook signing secret (env TRADED_STRIPE_WEBHOOK_SECRET)"),
	}
}

func (b *billingFlags) config(baseURL string) (billing.Config, billing.CardPayments, error) {
	if *b.terms < 1 || *b.terms > 365 {
		return billing.Config{}, nil, fmt.Errorf("--payment-terms must be between 1 and 365 days")
	}
	var address []string
	for _, l := range strings.Split(*b.address, ",") {
		if l = strings.TrimSpace(l); l != "" {
			address = append(address, l)
		}
	}
	cfg := billing.Config{
		Supplier:         billing.Supplier{Name: *b.supplier, Address: address, VATNumber: *b.vat, Email: *b.email, Phone: *b.phone},
		Bank:             billing.Bank{AccountName: *b.bankAccountName, SortCode: *b.sortCode, Account: *b.account, BankName: *b.bankName},
		PaymentTermsDays: *b.terms,
		BaseURL:          baseURL,
	}
	if *b.stripeKey == "" {
		return cfg, nil, nil
	}
	if *b.stripeHook == "" {
		return cfg, nil, fmt.Errorf("--stripe-key needs --stripe-webhook-secret, or card payments would never be recorded")
	}
	return cfg, billing.NewStripe(*b.stripeKey, *b.stripeAPI), nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "address to listen on (env TRADED_ADDR)")
	path := dbFlag(fs)
	withDemo := fs.Bool("demo", false, "load demo data at start (env TRADED_DEMO)")
	demoClock := fs.String("demo-clock", "", "with --demo only: run the clock from this RFC 3339 instant, to show or test the service as if on another day (env TRADED_DEMO_CLOCK)")
	dev := fs.Bool("dev", false, "local development: cookies without Secure (env TRADED_DEV; implied by --demo)")
	baseURL := fs.String("base-url", "", "public address for links in mail and calendars (env TRADED_BASE_URL; default http://localhost:PORT)")
	quiet := fs.Bool("quiet", false, "log only failed requests (env TRADED_QUIET)")
	proxies := fs.String("trusted-proxies", "", "comma-separated addresses of reverse proxies whose X-Forwarded-For to believe (env TRADED_TRUSTED_PROXIES)")
	freeCancel := fs.Int("cancel-working-days", 10, "free cancellation ends this many working days before a session (env TRADED_CANCEL_WORKING_DAYS)")
	offerHold := fs.Duration("offer-hold", 48*time.Hour, "how long a waiting-list offer is held (env TRADED_OFFER_HOLD)")
	stages := fs.String("payment-reminders", "7,30,60", "days overdue at which payment reminders go, on school days only (env TRADED_PAYMENT_REMINDERS)")
	grace := fs.Duration("shutdown-grace", 20*time.Second, "how long SIGTERM waits for requests in flight")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler (net/http/pprof) on this address, such as 127.0.0.1:6060, for diagnosing; never a public one")
	mf := addMailFlags(fs)
	bf := addBillingFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr)
	for _, k := range unknownEnv() {
		log.Warn("ignored: no setting is called this; see README, Configuration", "variable", k)
	}
	if *offerHold <= 0 {
		return fmt.Errorf("--offer-hold (TRADED_OFFER_HOLD) must be more than 0, such as 48h")
	}
	if *mf.port < 1 || *mf.port > 65535 {
		return fmt.Errorf("--smtp-port (TRADED_SMTP_PORT) must be between 1 and 65535")
	}
	// Held while serving, so `traded restore` cannot replace the file in use.
	lock, err := store.AcquireLock(*path)
	if err != nil {
		return err
	}
	defer lock.Release()
	if *freeCancel < 0 || *freeCancel > 60 {
		return fmt.Errorf("--cancel-working-days must be between 0 and 60")
	}
	var reminderStages []int
	for _, f := range splitList(*stages) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 365 {
			return fmt.Errorf("--payment-reminders: %q is not a number of days from 1 to 365", f)
		}
		reminderStages = append(reminderStages, n)
	}

	var clock traded.Clock = traded.SystemClock{}
	if *demoClock != "" {
		if !*withDemo {
			return fmt.Errorf("--demo-clock is for demonstrations and tests: it needs --demo")
		}
		start, err := time.Parse(time.RFC3339, *demoClock)
		if err != nil {
			return fmt.Errorf("--demo-clock: %q is not an RFC 3339 instant such as 2027-01-13T08:00:00Z", *demoClock)
		}
		clock = traded.NewOffsetClock(start)
	}
	db, err := openDBWithClock(ctx, *path, clock)
	if err != nil {
		return err
	}
	defer db.Close()
	if stable, err := db.StablePlans(ctx); err == nil && !stable {
		log.Warn("SQLite was built without SQLITE_ENABLE_QPSG, so every SQL statement is compiled on every use; build with make (see README, Performance)")
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		defer pl.Close()
		go func() { _ = http.Serve(pl, pprofMux()) }()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		*baseURL = "http://localhost:" + port
	}
	bcfg, card, err := bf.config(*baseURL)
	if err != nil {
		ln.Close()
		return err
	}
	if *withDemo {
		svc := app.Domains(db).Booking
		svc.Accounts.BaseURL = *baseURL
		if err := demo.Load(ctx, svc, bcfg); err != nil {
			ln.Close()
			return fmt.Errorf("load demo data: %w", err)
		}
		*dev = true
	}
	// The composition root: app builds and connects the services; the
	// mail worker renders their attachments; the jobs runner does their
	// background work and the web layer's; web receives them built.
	services := app.New(db, app.Config{BaseURL: *baseURL, Billing: bcfg, Card: card,
		BookingRules: booking.Rules{CancelWorkingDays: freeCancel, OfferHold: *offerHold}, ReminderStages: reminderStages})
	worker := mail.NewWorker(db, mf.sender(log), log)
	if err := worker.Register(services.Renderers()...); err != nil {
		ln.Close()
		return err
	}
	runner := jobs.New(log)
	runner.After = worker.Wake // jobs queue mail
	runner.Add(services.Jobs()...)
	srv, err := web.New(web.Config{Dev: *dev, BaseURL: *baseURL, QuietAccessLog: *quiet, Mail: worker, Jobs: runner,
		StripeWebhookSecret: *bf.stripeHook, TrustedProxies: splitList(*proxies)}, services, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", *baseURL, "db", db.Path, "demo", *withDemo, "smtp", *mf.host,
		"card_payments", card != nil)
	if *withDemo {
		printDemoSignIns(stdout, *baseURL, *mf.host)
	}

	// Background work runs until the server has stopped taking requests.
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); worker.Run(bg) }()
	go func() { defer wg.Done(); runner.Run(bg) }()

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight", "grace", grace.String())
		sctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		if serr := srv.Shutdown(sctx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
			err = serr
		}
		<-done
	}
	stopBG()
	wg.Wait()
	log.Info("stopped")
	return err
}

func printDemoSignIns(w io.Writer, baseURL, smtpHost string) {
	fmt.Fprintf(w, "\nTraded is running at %s\n\n", baseURL)
	fmt.Fprintf(w, "Demo sign-ins (password for all: %s):\n", demo.Password)
	for _, u := range demo.Users {
		org := ""
		if u.URN != 0 {
			org = fmt.Sprintf(", URN %d", u.URN)
		}
		fmt.Fprintf(w, "  %-34s %s%s\n", u.Email, u.Role.Label(), org)
	}
	mail := "Mail is printed to the log, not sent."
	if smtpHost != "" {
		mail = "Mail is sent through " + smtpHost + "."
	}
	fmt.Fprintf(w, "\n%s Catalogue: %s/catalogue\n\n", mail, baseURL)
}

// splitList reads a comma-separated flag.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// pprofMux serves Go's profiles under /debug/pprof/.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
