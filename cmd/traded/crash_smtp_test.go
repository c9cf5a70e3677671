package main

import (
	"bytes"
	"io"
	"log"
	"net"
	netmail "net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// crashSMTP is a real SMTP server (go-smtp) that keeps every message it
// accepts with its Message-ID and the incarnation of traded that sent it.
//
// Which incarnation sent a message is known exactly. Incarnations run one at
// a time and incarnation i is alive only while life() == i (life counts the
// reaped ones). A connection is accepted after its client connected and
// before the greeting is written, and the client answered the greeting with
// EHLO (go-smtp only then makes a session): so the client was alive both
// before and after the moment of Accept, and life() read right after Accept
// is its number.
type crashSMTP struct {
	port int
	life func() int

	mu       sync.Mutex
	clock    int64           // orders accepts and deliveries
	sessions []*crashSession // connections that said EHLO
	got      []delivery
}

// crashSession is one SMTP connection from traded.
type crashSession struct {
	srv      *crashSMTP
	life     int
	accepted int64 // clock at Accept
	from     string
	to       []string
}

// delivery is one message the server accepted (the final 250 after DATA).
type delivery struct {
	messageID string
	to        []string
	life      int   // the incarnation that sent it
	at        int64 // clock when it was accepted
	accepted  int64 // clock when its connection was accepted
}

// taggedConn is an accepted connection with the incarnation then alive.
type taggedConn struct {
	net.Conn
	life     int
	accepted int64
}

type taggedListener struct {
	net.Listener
	srv *crashSMTP
}

func (l taggedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	life := l.srv.life()
	l.srv.mu.Lock()
	l.srv.clock++
	at := l.srv.clock
	l.srv.mu.Unlock()
	return &taggedConn{Conn: c, life: life, accepted: at}, nil
}

func startCrashSMTP(t *testing.T, life func() int) *crashSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &crashSMTP{port: ln.Addr().(*net.TCPAddr).Port, life: life}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 16 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(taggedListener{Listener: ln, srv: s})
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
	return s
}

// NewSession implements smtp.Backend: go-smtp calls it on EHLO.
func (s *crashSMTP) NewSession(c *smtp.Conn) (smtp.Session, error) {
	x := &crashSession{srv: s, life: -1}
	if tc, ok := c.Conn().(*taggedConn); ok {
		x.life, x.accepted = tc.life, tc.accepted
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, x)
	s.mu.Unlock()
	return x, nil
}

func (x *crashSession) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *crashSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *crashSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	id := ""
	if m, err := netmail.ReadMessage(bytes.NewReader(b)); err == nil {
		id = m.Header.Get("Message-Id")
	}
	s := x.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	s.got = append(s.got, delivery{messageID: id, to: append([]string(nil), x.to...), life: x.life, at: s.clock, accepted: x.accepted})
	return nil
}

func (x *crashSession) Reset()        { x.from, x.to = "", nil }
func (x *crashSession) Logout() error { return nil }

// snapshot returns the deliveries and sessions so far.
func (s *crashSMTP) snapshot() ([]delivery, []crashSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessions := make([]crashSession, len(s.sessions))
	for i, x := range s.sessions {
		sessions[i] = crashSession{life: x.life, accepted: x.accepted}
	}
	return append([]delivery(nil), s.got...), sessions
}
