package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"traded/booking"
	"traded/demo"
	"traded/mail"
	"traded/web"
)

// mailFlags are the SMTP settings, shared by serve and the commands that send mail.
type mailFlags struct {
	host, from, fromName, user, domain *string
	port                               *int
}

func addMailFlags(fs *flag.FlagSet) *mailFlags {
	port, _ := strconv.Atoi(env("TRADED_SMTP_PORT", "25"))
	return &mailFlags{
		host:     fs.String("smtp-host", env("TRADED_SMTP_HOST", ""), "SMTP server for outgoing mail; empty prints mail to the log (env TRADED_SMTP_HOST)"),
		port:     fs.Int("smtp-port", port, "SMTP port (env TRADED_SMTP_PORT)"),
		from:     fs.String("smtp-from", env("TRADED_SMTP_FROM", "traded.services@essex.gov.uk"), "sender address (env TRADED_SMTP_FROM)"),
		fromName: fs.String("smtp-from-name", env("TRADED_SMTP_FROM_NAME", "Essex County Council traded services"), "sender name (env TRADED_SMTP_FROM_NAME)"),
		user:     fs.String("smtp-user", env("TRADED_SMTP_USER", ""), "SMTP username; the password is read from TRADED_SMTP_PASSWORD"),
		domain:   fs.String("mail-domain", env("TRADED_MAIL_DOMAIN", "traded.essex.gov.uk"), "domain of Message-IDs (env TRADED_MAIL_DOMAIN)"),
	}
}

func (m *mailFlags) sender(log *slog.Logger) mail.Sender {
	if *m.host == "" {
		return &mail.Log{Log: log}
	}
	return &mail.SMTP{Host: *m.host, Port: *m.port, From: *m.from, FromName: *m.fromName,
		Username: *m.user, Password: env("TRADED_SMTP_PASSWORD", ""), Domain: *m.domain}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("TRADED_ADDR", ":8080"), "address to listen on (env TRADED_ADDR)")
	path := dbFlag(fs)
	withDemo := fs.Bool("demo", envBool("TRADED_DEMO"), "load demo data at start (env TRADED_DEMO)")
	dev := fs.Bool("dev", envBool("TRADED_DEV"), "local development: cookies without Secure (env TRADED_DEV; implied by --demo)")
	baseURL := fs.String("base-url", env("TRADED_BASE_URL", ""), "public address for links in mail and calendars (env TRADED_BASE_URL; default http://localhost:PORT)")
	quiet := fs.Bool("quiet", envBool("TRADED_QUIET"), "log only failed requests (env TRADED_QUIET)")
	grace := fs.Duration("shutdown-grace", 20*time.Second, "how long SIGTERM waits for requests in flight")
	mf := addMailFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(stderr)

	db, err := openDB(ctx, *path)
	if err != nil {
		return err
	}
	defer db.Close()
	if *withDemo {
		if err := demo.Load(ctx, booking.NewService(db)); err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		*dev = true
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		*baseURL = "http://localhost:" + port
	}
	worker := mail.NewWorker(db, mf.sender(log), log)
	srv, err := web.New(web.Config{Dev: *dev, BaseURL: *baseURL, QuietAccessLog: *quiet, Mail: worker}, db, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", *baseURL, "db", db.Path, "demo", *withDemo, "smtp", *mf.host)
	if *withDemo {
		printDemoSignIns(stdout, *baseURL)
	}

	// Background work runs until the server has stopped taking requests.
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); worker.Run(bg) }()
	go func() { defer wg.Done(); srv.Maintain(bg) }()

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

func printDemoSignIns(w io.Writer, baseURL string) {
	fmt.Fprintf(w, "\nTraded is running at %s\n\n", baseURL)
	fmt.Fprintf(w, "Demo sign-ins (password for all: %s):\n", demo.Password)
	for _, u := range demo.Users {
		org := ""
		if u.URN != 0 {
			org = fmt.Sprintf(", URN %d", u.URN)
		}
		fmt.Fprintf(w, "  %-34s %s%s\n", u.Email, u.Role.Label(), org)
	}
	fmt.Fprintf(w, "\nMail is printed to the log, not sent. Catalogue: %s/catalogue\n\n", baseURL)
}
