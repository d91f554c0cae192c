// Package smtptest runs a real SMTP server on 127.0.0.1 for tests, so that tests can read
// the mail bannin sends (SNS email subscriptions, alarm and rule notifications) as a
// subscriber's mail server would receive it.
package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one mail the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM); To the envelope recipients (RCPT TO).
	From string
	To   []string
	// Header is the parsed header of the mail; Subject is its decoded Subject.
	Header  mail.Header
	Subject string
	// Body is the decoded text of the mail (the first text/plain part of a multipart mail),
	// with CRLF line ends turned into LF.
	Body string
	// Raw is the mail as transmitted after DATA.
	Raw []byte
	// Received is when the server had read the whole mail and accepted it (just before it
	// answers 250 to the end of DATA), for measuring how long a mail took to arrive.
	Received time.Time
}

// Server is a running SMTP server that keeps every mail it accepts.
type Server struct {
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	// changed is closed and replaced whenever a mail arrives.
	changed chan struct{}
}

// Start starts a server on 127.0.0.1:0; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{ln: ln, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	s.srv.Domain = "127.0.0.1"
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.AllowInsecureAuth = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.srv.Close()
		<-done
	})
	return s
}

// URL is the server's address as bannin's SMTPURL: smtp://127.0.0.1:PORT.
func (s *Server) URL() string { return "smtp://" + s.ln.Addr().String() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Messages returns the mails accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first mail (oldest first, including those already received) for which
// match reports true, waiting up to timeout for it; it fails the test if none comes.
func (s *Server) Wait(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := s.msgs, s.changed
		s.mu.Unlock()
		for _, m := range msgs {
			if match == nil || match(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			var subjects []string
			for _, m := range msgs {
				subjects = append(subjects, fmt.Sprintf("%q to %v", m.Subject, m.To))
			}
			t.Fatalf("smtptest: no matching mail within %v; received %d: %s", timeout, len(msgs), strings.Join(subjects, "; "))
			return Message{}
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// session is one SMTP connection's state.
type session struct {
	server *Server
	from   string
	to     []string
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	received := time.Now()
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.To, m.Received = se.from, append([]string(nil), se.to...), received
	se.server.add(m)
	return nil
}

// Parse decodes a mail's header, subject and text body.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("smtptest: parse mail: %w", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	body, err := textBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return Message{}, fmt.Errorf("smtptest: parse mail body: %w", err)
	}
	return Message{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(body, "\r\n", "\n"), Raw: raw}, nil
}

// textBody decodes a (possibly multipart) body to its first text part.
func textBody(contentType, encoding string, r io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			ct := p.Header.Get("Content-Type")
			if ct == "" || strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "multipart/") {
				// multipart.Reader already undoes quoted-printable.
				return textBody(ct, p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: r})
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// newlineStripper drops CR and LF so that line-wrapped base64 decodes.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
