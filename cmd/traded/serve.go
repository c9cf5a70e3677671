package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"traded/booking"
	"traded/demo"
	"traded/web"
)

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
	srv, err := web.New(web.Config{Dev: *dev, BaseURL: *baseURL, QuietAccessLog: *quiet}, db, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", *baseURL, "db", db.Path, "demo", *withDemo)
	if *withDemo {
		printDemoSignIns(stdout, *baseURL)
	}

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-done
	log.Info("stopped")
	return nil
}

func printDemoSignIns(w io.Writer, baseURL string) {
	fmt.Fprintf(w, "\nTraded is running at %s\n", baseURL)
	fmt.Fprintf(w, "  catalogue:  %s/catalogue\n  API:        %s/api/v1/catalogue\n\n", baseURL, baseURL)
}
