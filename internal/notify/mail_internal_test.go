package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mailFixture is a store with one topic and one confirmed email subscription to it.
type mailFixture struct {
	st    store.Store
	clock *testClock
	topic *Topic
	sub   *Subscription
}

func newMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f := &mailFixture{st: st, clock: &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	arn := TopicARN("us-east-1", "123456789012", "relay")
	f.topic = &Topic{TopicArn: arn, Name: "relay", Attributes: map[string]string{}, account: "123456789012", region: "us-east-1"}
	f.sub = &Subscription{SubscriptionArn: arn + ":" + newID(), TopicArn: arn, Protocol: "email", Endpoint: "ops@example.com",
		Owner: "123456789012", Confirmed: true, ConfirmedAt: f.clock.Now(), Attributes: map[string]string{},
		account: "123456789012", region: "us-east-1"}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		if err := saveTopic(context.Background(), tx, f.topic); err != nil {
			return err
		}
		return saveSubscription(context.Background(), tx, f.sub)
	})
	if err != nil {
		t.Fatalf("save topic and subscription: %v", err)
	}
	return f
}

// service returns a notify service on the fixture's store that sends through smtpURL,
// trusting roots, and runs it until the test ends or stop is called.
func (f *mailFixture) service(t *testing.T, smtpURL string, cfg *tls.Config) (s *Service, stop func()) {
	t.Helper()
	s = New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: f.st,
		SMTPURL: smtpURL, SMTPTLS: cfg, BaseURL: "http://127.0.0.1:1", Poll: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return s, stop
}

// queue queues a notification of message to the fixture's subscription, due now.
func (f *mailFixture) queue(t *testing.T, s *Service, message string) *delivery {
	t.Helper()
	d := &delivery{ID: newID(), Type: typeNotification, MessageID: newID(), SubscriptionArn: f.sub.SubscriptionArn,
		TopicArn: f.topic.TopicArn, Protocol: f.sub.Protocol, Endpoint: f.sub.Endpoint, Timestamp: f.clock.Now(),
		Subject: message, Message: message}
	if err := f.st.Update(context.Background(), func(tx store.Tx) error { return s.enqueue(context.Background(), tx, d, f.clock.Now()) }); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	s.signal()
	return d
}

// queued returns the deliveries still queued.
func (f *mailFixture) queued(t *testing.T) []delivery {
	t.Helper()
	var out []delivery
	err := f.st.View(context.Background(), func(tx store.ReadTx) error {
		kvs, err := tx.List(context.Background(), queueBucket, "", "", 100)
		for _, kv := range kvs {
			var d delivery
			if err := json.Unmarshal(kv.Value, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return err
	})
	if err != nil {
		t.Fatalf("read queue: %v", err)
	}
	return out
}

func TestMailOverTLSAndAuth(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtptest.Options
	}{
		{"starttls", smtptest.Options{STARTTLS: true}},
		{"smtps", smtptest.Options{TLS: true}},
		{"starttls with auth", smtptest.Options{STARTTLS: true, Auth: "relay:s3cret"}},
		{"smtps with auth", smtptest.Options{TLS: true, Auth: "relay:s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mail := smtptest.StartWith(t, tc.opts)
			f := newMailFixture(t)
			s, _ := f.service(t, mail.URL(), &tls.Config{RootCAs: mail.RootCAs()})
			d := f.queue(t, s, "over "+tc.name)
			m := mail.Wait(t, func(m smtptest.Message) bool { return m.Subject == "over "+tc.name }, 20*time.Second)
			if len(m.To) != 1 || m.To[0] != "ops@example.com" || m.Header.Get("Message-Id") != "<"+d.MessageID+"@sns.amazonaws.com>" {
				t.Errorf("mail to %v, Message-Id %q; want ops@example.com, <%s@sns.amazonaws.com>", m.To, m.Header.Get("Message-Id"), d.MessageID)
			}
		})
	}
}

// A refused login (wrong password) and an untrusted certificate are the relay's
// configuration, not the subscriber's: the delivery stays queued and goes out once the
// configuration is right.
func TestMailRetriedUntilRelayAccepts(t *testing.T) {
	mail := smtptest.StartWith(t, smtptest.Options{STARTTLS: true, Auth: "relay:s3cret"})
	good, _ := url.Parse(mail.URL())
	bad := *good
	bad.User = url.UserPassword("relay", "wrong")
	trust := &tls.Config{RootCAs: mail.RootCAs()}
	f := newMailFixture(t)

	s, stop := f.service(t, bad.String(), trust)
	d := f.queue(t, s, "after the fix")
	mail.WaitAuthFailures(t, 1, 20*time.Second)
	waitQueued(t, f, d.ID, 1)
	stop()

	// Untrusted certificate: the STARTTLS handshake fails, and that too is retried.
	f.clock.Add(time.Hour)
	s, stop = f.service(t, good.String(), nil)
	s.signal()
	waitQueued(t, f, d.ID, 2)
	stop()
	if got := len(mail.Messages()); got != 0 {
		t.Fatalf("relay accepted %d mails before the configuration was fixed; want 0", got)
	}

	f.clock.Add(time.Hour)
	f.service(t, good.String(), trust)
	m := mail.Wait(t, func(m smtptest.Message) bool { return m.Subject == "after the fix" }, 20*time.Second)
	if m.Header.Get("Message-Id") != "<"+d.MessageID+"@sns.amazonaws.com>" {
		t.Errorf("Message-Id = %q; want the queued delivery's <%s@sns.amazonaws.com>", m.Header.Get("Message-Id"), d.MessageID)
	}
	waitQueued(t, f, d.ID, -1)
}

// waitQueued waits until delivery id is queued after attempts failed attempts, or (attempts
// -1) is no longer queued.
func waitQueued(t *testing.T, f *mailFixture, id string, attempts int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []int
		found := false
		for _, d := range f.queued(t) {
			if d.ID == id {
				found = true
				got = append(got, d.Attempts)
				if d.Attempts == attempts {
					return
				}
			}
		}
		if attempts < 0 && !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s queued with attempts %v; want %d", id, got, attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
