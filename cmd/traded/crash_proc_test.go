package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crashMailDomain names the Message-IDs of the server under test:
// <outbox-ID@crash.test>.
const crashMailDomain = "crash.test"

// buildTraded builds the traded binary into dir. It is built without -race
// even when the test runs under it: a race-instrumented server takes seconds,
// not a fifth of one, to start, and the test restarts it two dozen times.
// (make test's go vet has compiled its packages, so this is a link.)
func buildTraded(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		} else {
			t.Fatalf("the crash test builds the traded binary and needs the go command: %v", err)
		}
	}
	bin := filepath.Join(dir, "traded")
	if out, err := exec.Command(goTool, "build", "-o", bin, "traded/cmd/traded").CombinedOutput(); err != nil {
		t.Fatalf("go build traded/cmd/traded: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a local address nothing listens on, for the server
// under test to keep across restarts (so clients need not follow it). It
// lies below the kernel's range of ephemeral ports, so that no outgoing
// connection can take it while the server is down.
func freeAddr(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low > 3024 {
		for range 50 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(low-2000-rand.Intn(min(10000, low-3024))))
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				return addr
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// tradedServer runs `traded serve` on one database, one incarnation (one
// process) at a time: each is started after the previous one has been reaped.
type tradedServer struct {
	t              *testing.T
	bin, db, addr  string
	smtpPort       int
	logDir         string
	mu             sync.Mutex
	ended          atomic.Int64 // incarnations reaped; the one alive, if any, is number ended
	endings        []string     // how each reaped incarnation ended: "SIGKILL" or "SIGTERM"
	logs           []string
	proc           *tradedProc
	started        int
	startupTimeout time.Duration
	starting       time.Duration // spent waiting for incarnations to answer /healthz
	exiting        time.Duration // spent waiting for them to exit
}

// tradedProc is one incarnation.
type tradedProc struct {
	cmd    *exec.Cmd
	life   int
	log    string
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

func newTradedServer(t *testing.T, bin, db, addr string, smtpPort int) *tradedServer {
	s := &tradedServer{t: t, bin: bin, db: db, addr: addr, smtpPort: smtpPort, logDir: t.TempDir(), startupTimeout: time.Minute}
	t.Cleanup(func() {
		if p := s.proc; p != nil {
			select {
			case <-p.exited:
			default:
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
	})
	return s
}

// life is the number of the incarnation alive now, or about to start.
func (s *tradedServer) life() int { return int(s.ended.Load()) }

// start starts an incarnation and waits until /healthz answers.
func (s *tradedServer) start() *tradedProc {
	s.t.Helper()
	began := time.Now()
	defer func() { s.starting += time.Since(began) }()
	for attempt := 1; ; attempt++ {
		p := s.spawn()
		err := s.waitHealthy(p)
		if err == nil {
			return p
		}
		// The port was free when chosen; should something else have taken
		// it meanwhile, try again (the incarnation never served).
		if attempt < 5 && s.exitedEarly(p) && strings.Contains(tail(p.log, 20), "address already in use") {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		s.t.Fatalf("traded serve (incarnation %d) did not become healthy: %v\n%s", p.life, err, tail(p.log, 40))
	}
}

func (s *tradedServer) exitedEarly(p *tradedProc) bool {
	select {
	case <-p.exited:
		s.proc = nil
		return true
	default:
		return false
	}
}

func (s *tradedServer) spawn() *tradedProc {
	s.t.Helper()
	life := s.life()
	s.started++
	name := filepath.Join(s.logDir, fmt.Sprintf("traded-%03d-%d.log", life, s.started))
	f, err := os.Create(name)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	cmd := exec.Command(s.bin, "serve", "--db", s.db, "--addr", s.addr, "--demo",
		"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(s.smtpPort), "--mail-domain", crashMailDomain, "--quiet")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = crashEnv()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start traded: %v", err)
	}
	p := &tradedProc{cmd: cmd, life: life, log: name, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	s.proc = p
	s.logs = append(s.logs, name)
	return p
}

// crashEnv is this process's environment without TRADED_ settings, so
// only the flags configure the server under test.
func crashEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRADED_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *tradedServer) waitHealthy(p *tradedProc) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(s.startupTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("it exited: %v", p.err)
		default:
		}
		resp, err := client.Get("http://" + s.addr + "/healthz")
		if err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no healthy answer within %s", s.startupTimeout)
}

// kill ends the incarnation with SIGKILL and reaps it.
func (s *tradedServer) kill(p *tradedProc) {
	s.t.Helper()
	s.end(p, syscall.SIGKILL, 10*time.Second)
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		s.t.Fatalf("incarnation %d did not die of SIGKILL: %v\n%s", p.life, p.err, tail(p.log, 40))
	}
}

// stop ends the incarnation with SIGTERM, as an operator would, and checks
// it shut down cleanly.
func (s *tradedServer) stop(p *tradedProc) {
	s.t.Helper()
	s.end(p, syscall.SIGTERM, time.Minute)
	if p.err != nil {
		s.t.Fatalf("incarnation %d did not stop cleanly on SIGTERM: %v\n%s", p.life, p.err, tail(p.log, 40))
	}
	if !strings.Contains(tail(p.log, 5), `"msg":"stopped"`) {
		s.t.Errorf("incarnation %d did not log that it stopped:\n%s", p.life, tail(p.log, 10))
	}
}

func (s *tradedServer) end(p *tradedProc, sig syscall.Signal, wait time.Duration) {
	s.t.Helper()
	began := time.Now()
	defer func() { s.exiting += time.Since(began) }()
	select {
	case <-p.exited:
		s.t.Fatalf("incarnation %d died on its own (%v) before it was sent %v:\n%s", p.life, p.err, sig, tail(p.log, 40))
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal incarnation %d: %v", p.life, err)
	}
	select {
	case <-p.exited:
	case <-time.After(wait):
		_ = p.cmd.Process.Kill()
		<-p.exited
		s.t.Fatalf("incarnation %d had not exited %s after %v:\n%s", p.life, wait, sig, tail(p.log, 40))
	}
	// Only now is the process gone: the next incarnation's number may
	// be handed out (the SMTP server tags connections with it).
	s.mu.Lock()
	s.endings = append(s.endings, map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM"}[sig])
	s.mu.Unlock()
	s.ended.Add(1)
	s.proc = nil
}

// ending says how incarnation life ended: "SIGKILL", "SIGTERM", or "" if it
// has not.
func (s *tradedServer) ending(life int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if life < len(s.endings) {
		return s.endings[life]
	}
	return ""
}

// checkLogs fails the test for a panic in any incarnation's log, and counts
// the errors logged.
func (s *tradedServer) checkLogs() (errorLines int) {
	s.t.Helper()
	for _, name := range s.logs {
		b, err := os.ReadFile(name)
		if err != nil {
			s.t.Error(err)
			continue
		}
		if bytes.Contains(b, []byte("panic:")) || bytes.Contains(b, []byte("fatal error:")) {
			s.t.Errorf("the server panicked (%s):\n%s", filepath.Base(name), excerpt(b, "panic:", 40))
		}
		errorLines += bytes.Count(b, []byte(`"level":"ERROR"`))
	}
	return errorLines
}

// tail returns the last n lines of a file.
func tail(name string, n int) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// excerpt returns n lines of b from the first line containing marker.
func excerpt(b []byte, marker string, n int) string {
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		return ""
	}
	lines := strings.SplitN(string(b[i:]), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
