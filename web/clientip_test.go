package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"traded/web"
)

// TestClientAddress_ForgedChains: behind trusted proxies the client is the
// rightmost address that is not a proxy. A client that forges the first
// hops of X-Forwarded-For is still limited and audited at its own address.
// (app.Test connects from 0.0.0.0, so that is "the proxy in front".)
func TestClientAddress_ForgedChains(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, TrustedProxies: []string{"0.0.0.0", "10.0.0.0/8"}})
	u := app.agent(t)
	fail := func(i int, xff string) int {
		t.Helper()
		u.get("/sign-in", "X-Forwarded-For", xff)
		// a different unknown account each time: only the address limit counts
		form := url.Values{"_csrf": {u.csrf}, "email": {fmt.Sprintf("nobody%d@example.org", i)}, "password": {"wrong"}}
		return u.post("/sign-in", form, "X-Forwarded-For", xff).status
	}
	// The real client 198.51.100.7 is what the proxy appended; each
	// request forges a different first hop, and one a chain through an
	// internal proxy (10.1.2.3) with a forged client-side header too.
	for i := range 24 {
		xff := fmt.Sprintf("203.0.113.%d, 198.51.100.7", i+1)
		if i%3 == 1 {
			xff = fmt.Sprintf("203.0.113.%d, 198.51.100.7, 10.1.2.3", i+1)
		}
		want := http.StatusUnauthorized
		if i >= 20 {
			want = http.StatusTooManyRequests
		}
		if got := fail(i, xff); got != want {
			t.Fatalf("failed sign-in %d via %q: %d, want %d", i+1, xff, got, want)
		}
	}
	for _, e := range app.audit(t, "sign_in.failed") {
		if e.RemoteAddr != "198.51.100.7" {
			t.Fatalf("audit records %q, want the client 198.51.100.7", e.RemoteAddr)
		}
	}
	// Another client behind the same proxy is not limited by the first.
	if got := fail(100, "198.51.100.8"); got != http.StatusUnauthorized {
		t.Errorf("another client: %d, want 401", got)
	}
	// Our own header cannot be sent in: it is replaced.
	if got := fail(101, "198.51.100.7"); got != http.StatusTooManyRequests {
		t.Errorf("limited client: %d, want 429", got)
	}
	u.get("/sign-in")
	form := url.Values{"_csrf": {u.csrf}, "email": {"nobody@example.org"}, "password": {"wrong"}}
	if p := u.post("/sign-in", form, "X-Traded-Client-Ip", "192.0.2.99", "X-Forwarded-For", "198.51.100.7"); p.status != http.StatusTooManyRequests {
		t.Errorf("a forged X-Traded-Client-Ip changed the address: %d", p.status)
	}
	// Garbage in the chain ends the walk at the proxy that passed it on.
	if got := fail(102, "198.51.100.7, not-an-address"); got != http.StatusUnauthorized {
		t.Errorf("garbage hop: %d, want 401 (counted against the proxy)", got)
	}
}

// TestClientAddress_UntrustedSender: a request that does not come from a
// trusted proxy is taken at its connection's address, headers ignored.
func TestClientAddress_UntrustedSender(t *testing.T) {
	app := newAccountsApp(t, web.Config{Dev: true, TrustedProxies: []string{"10.0.0.0/8"}})
	u := app.agent(t)
	u.get("/sign-in")
	form := url.Values{"_csrf": {u.csrf}, "email": {"nobody@example.org"}, "password": {"wrong"}}
	u.post("/sign-in", form, "X-Forwarded-For", "198.51.100.7", "X-Traded-Client-Ip", "192.0.2.1")
	for _, e := range app.audit(t, "sign_in.failed") {
		if e.RemoteAddr != "0.0.0.0" {
			t.Errorf("audit records %q from an untrusted sender, want its own address", e.RemoteAddr)
		}
	}
}
