package smtptest

import (
	"net/smtp"
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
