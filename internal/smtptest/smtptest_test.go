package smtptest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReceive(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "smtp://127.0.0.1:") {
		t.Fatalf("URL() = %q; want smtp://127.0.0.1:PORT", s.URL())
	}
	raw := "From: \"Alerts\" <no-reply@sns.amazonaws.com>\r\nTo: ops@example.com\r\n" +
		"Subject: =?UTF-8?Q?caf=C3=A9_alarm?=\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nline one=\r\n continued\r\nsecond =3D line\r\n"
	sent := time.Now()
	if err := smtp.SendMail(s.Addr(), nil, "no-reply@sns.amazonaws.com", []string{"ops@example.com"}, []byte(raw)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.Wait(t, func(m Message) bool { return m.Subject == "café alarm" }, 10*time.Second)
	if m.From != "no-reply@sns.amazonaws.com" || len(m.To) != 1 || m.To[0] != "ops@example.com" {
		t.Errorf("envelope = %q -> %v; want no-reply@sns.amazonaws.com -> [ops@example.com]", m.From, m.To)
	}
	if want := "line one continued\nsecond = line\n"; m.Body != want {
		t.Errorf("Body = %q; want %q", m.Body, want)
	}
	if m.Received.Before(sent) || m.Received.After(time.Now()) {
		t.Errorf("Received = %v; want between the send (%v) and now", m.Received, sent)
	}
	if got := len(s.Messages()); got != 1 {
		t.Errorf("Messages() = %d mails; want 1", got)
	}
}

// send delivers one mail to s as bannin does: TLS from the start for smtps, STARTTLS when
// offered, PLAIN authentication with the URL's credentials.
func send(t *testing.T, s *Server, rawURL, subject string) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	cfg := &tls.Config{RootCAs: s.RootCAs(), ServerName: u.Hostname()}
	var conn net.Conn
	if u.Scheme == "smtps" {
		conn, err = tls.Dial("tcp", u.Host, cfg)
	} else {
		conn, err = net.Dial("tcp", u.Host)
	}
	if err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, u.Hostname())
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		if err := c.Auth(smtp.PlainAuth("", u.User.Username(), pass, u.Hostname())); err != nil {
			return err
		}
	}
	if err := c.Mail("a@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Subject: %s\r\n\r\nbody\r\n", subject)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func TestTLSAndAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		scheme string
	}{
		{"starttls", Options{STARTTLS: true}, "smtp://"},
		{"smtps", Options{TLS: true}, "smtps://"},
		{"auth", Options{Auth: "user:pass"}, "smtp://user:pass@"},
		{"starttls+auth", Options{STARTTLS: true, Auth: "user:pass"}, "smtp://user:pass@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StartWith(t, tc.opts)
			if !strings.HasPrefix(s.URL(), tc.scheme+"127.0.0.1:") {
				t.Fatalf("URL() = %q; want %s127.0.0.1:PORT", s.URL(), tc.scheme)
			}
			if err := send(t, s, s.URL(), tc.name); err != nil {
				t.Fatalf("send: %v", err)
			}
			s.Wait(t, func(m Message) bool { return m.Subject == tc.name }, 10*time.Second)
		})
	}
	s := StartWith(t, Options{STARTTLS: true, Auth: "user:pass"})
	u, _ := url.Parse(s.URL())
	u.User = url.UserPassword("user", "wrong")
	err := send(t, s, u.String(), "refused")
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("send with a wrong password: %v; want 535", err)
	}
	u.User = nil
	err = send(t, s, u.String(), "anonymous")
	if err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("send without auth: %v; want 530", err)
	}
	if got := s.AuthFailures(); got != 1 {
		t.Errorf("AuthFailures() = %d; want 1", got)
	}
	if got := len(s.Messages()); got != 0 {
		t.Errorf("Messages() = %d mails; want none accepted", got)
	}
	// A client that does not trust the certificate cannot start TLS.
	plain := StartWith(t, Options{TLS: true})
	if _, err := tls.Dial("tcp", plain.Addr(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Errorf("TLS handshake without the server's root succeeded; want a verification error")
	}
}
