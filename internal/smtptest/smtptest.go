// Package smtptest runs a real SMTP server on 127.0.0.1 for tests, so that tests can read
// the mail bannin sends (SNS email subscriptions, alarm and rule notifications) as a
// subscriber's mail server would receive it. It can also serve STARTTLS or implicit TLS
// with a self-signed certificate and require PLAIN authentication, as relays that bannin
// is configured to send through do.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
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

// Options choose how the server talks to its clients.
type Options struct {
	// STARTTLS offers STARTTLS (with a self-signed certificate for 127.0.0.1).
	STARTTLS bool
	// TLS serves implicit TLS (smtps) from the first byte, with the same certificate.
	TLS bool
	// Auth, "user:pass", requires PLAIN authentication with these credentials before MAIL
	// FROM; a wrong password is refused with 535 and counted in AuthFailures.
	Auth string
}

// Server is a running SMTP server that keeps every mail it accepts.
type Server struct {
	opts Options
	srv  *smtp.Server
	ln   net.Listener
	// roots trusts the server's certificate (nil without TLS).
	roots *x509.CertPool
	mu    sync.Mutex
	msgs  []Message
	// authFailures counts refused AUTH attempts.
	authFailures int
	// changed is closed and replaced whenever a mail arrives or an AUTH is refused.
	changed chan struct{}
}

// Start starts a plain server on 127.0.0.1:0; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server on 127.0.0.1:0 with opts; it stops when the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Auth != "" && !strings.Contains(opts.Auth, ":") {
		t.Fatalf("smtptest: Auth %q is not user:pass", opts.Auth)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{opts: opts, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	s.srv.Domain = "127.0.0.1"
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.AllowInsecureAuth = true
	if opts.STARTTLS || opts.TLS {
		cert, roots, err := selfSigned()
		if err != nil {
			ln.Close()
			t.Fatalf("smtptest: %v", err)
		}
		s.roots = roots
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if opts.STARTTLS {
			s.srv.TLSConfig = cfg
		}
		if opts.TLS {
			ln = tls.NewListener(ln, cfg)
		}
	}
	s.ln = ln
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

// URL is the server's address as bannin's SMTPURL: smtp://127.0.0.1:PORT, smtps://...
// with implicit TLS, and with the Auth credentials as user:pass@ when auth is required.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.ln.Addr().String()}
	if s.opts.TLS {
		u.Scheme = "smtps"
	}
	if user, pass, ok := strings.Cut(s.opts.Auth, ":"); ok {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// RootCAs is a pool that trusts the server's self-signed certificate (nil when the
// server serves neither STARTTLS nor TLS), for the client's tls.Config.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// AuthFailures is how many AUTH attempts the server has refused.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

// WaitAuthFailures waits up to timeout until the server has refused at least n AUTH
// attempts; it fails the test otherwise.
func (s *Server) WaitAuthFailures(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := s.authFailures, s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d refused AUTH attempts within %v; want %d", got, timeout, n)
			return
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, roots, nil
}

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
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// session is one SMTP connection's state.
type session struct {
	server *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// AuthMechanisms offers PLAIN when the server requires authentication (and nothing
// otherwise, so that no AUTH is advertised).
func (se *session) AuthMechanisms() []string {
	if se.server.opts.Auth == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if se.server.opts.Auth == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username+":"+password != se.server.opts.Auth {
			se.server.mu.Lock()
			se.server.authFailures++
			se.server.notifyLocked()
			se.server.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

// errAuthRequired answers MAIL FROM before authentication (RFC 4954's 530).
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.server.opts.Auth != "" && !se.authed {
		return errAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.server.opts.Auth != "" && !se.authed {
		return errAuthRequired
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	if se.server.opts.Auth != "" && !se.authed {
		return errAuthRequired
	}
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
