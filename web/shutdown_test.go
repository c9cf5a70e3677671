package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestShutdown_FinishesInFlight starts a real server, begins a slow request,
// shuts down, and checks the request still gets its answer.
func TestShutdown_FinishesInFlight(t *testing.T) {
	app := newTestApp(t)
	started := make(chan struct{})
	app.srv.App().Get("/test/slow", func(c *fiber.Ctx) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return c.SendString("finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.srv.Serve(ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/test/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := app.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request got %q, %v; want it finished", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve returned %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
