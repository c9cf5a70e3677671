package stripetest

import (
	"bytes"
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary finds stripe-mock where `go install` puts it, or on PATH.
func binary(t testing.TB) string {
	t.Helper()
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			dirs = append(dirs, strings.TrimSpace(lines[0]))
		}
		if len(lines) > 1 {
			for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	dirs = append(dirs, filepath.Join(build.Default.GOPATH, "bin"))
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	t.Fatal("stripe-mock not found in $(go env GOPATH)/bin or on PATH: `make test` installs it " +
		"(go install github.com/stripe/stripe-mock@v0.203.0)")
	return ""
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a real stripe-mock on loopback for the test and
// returns its HTTP address; it is stopped when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	bin := binary(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before stripe-mock binds it
		httpPort, httpsPort := FreePort(t), FreePort(t)
		if httpPort == httpsPort {
			continue
		}
		var out bytes.Buffer
		cmd := exec.Command(bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "-https-addr", fmt.Sprintf("127.0.0.1:%d", httpsPort))
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start stripe-mock: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				lastErr = fmt.Errorf("stripe-mock exited: %s", out.String())
			default:
				if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
					c.Close()
					t.Cleanup(func() {
						_ = cmd.Process.Kill()
						<-exited
					})
					return "http://" + addr
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			break
		}
		if lastErr == nil {
			lastErr = errors.New("stripe-mock did not listen within 15s")
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Fatalf("stripe-mock: %v", lastErr)
	return ""
}
