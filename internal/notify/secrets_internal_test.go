package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// syncBuffer is a log destination tests read while the service writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A malformed SMTP URL is reported once at start, with its password masked, and mail
// waits in the queue (it is not dropped) until the URL is fixed.
func TestMalformedSMTPURLKeepsMailAndPassword(t *testing.T) {
	f := newMailFixture(t)
	var logs syncBuffer
	bad := "smtp://relay:s3cret@mail.example.com:notaport"
	s := New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Store: f.st,
		SMTPURL: bad, BaseURL: "http://127.0.0.1:1", Poll: 10 * time.Millisecond})
	if !strings.Contains(logs.String(), "relay:****@mail.example.com") {
		t.Errorf("log at New = %q; want the SMTP URL reported with its password masked", logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	d := f.queue(t, s, "kept")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var keys []string
		err := f.st.View(context.Background(), func(tx store.ReadTx) error {
			kvs, err := tx.List(context.Background(), queueBucket, "", "", 100)
			for _, kv := range kvs {
				if strings.HasSuffix(kv.Key, "/"+d.ID) {
					keys = append(keys, kv.Key)
				}
			}
			return err
		})
		if err != nil {
			t.Fatalf("read queue: %v", err)
		}
		if len(keys) == 0 {
			t.Fatalf("the delivery was dropped; want it kept until the SMTP URL is fixed (log: %s)", logs.String())
		}
		if dueOf(keys[0]).After(f.clock.Now()) {
			break // attempted and put back to wait.
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s not attempted", d.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if q := f.queued(t); len(q) != 1 || q[0].Attempts != 0 {
		t.Errorf("queued = %+v; want the delivery with no attempt used", q)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("log shows the SMTP password:\n%s", logs.String())
	}
}

// Delivery errors and logs show an HTTP endpoint without its password.
func TestHTTPDeliveryHidesEndpointPassword(t *testing.T) {
	f := newMailFixture(t)
	var logs syncBuffer
	s := New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Store: f.st, BaseURL: "http://127.0.0.1:1"})
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer refusing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	withPassword := func(raw string) string {
		u, _ := url.Parse(raw)
		u.User = url.UserPassword("hook", "s3cret")
		return u.String() + "/sns"
	}
	for _, ep := range []string{withPassword(closed.URL), "http://hook:s3cret@127.0.0.1:notaport/sns", withPassword(refusing.URL)} {
		d := &delivery{ID: newID(), Type: typeNotification, MessageID: newID(), SubscriptionArn: f.sub.SubscriptionArn,
			TopicArn: f.topic.TopicArn, Protocol: "http", Endpoint: ep, Timestamp: f.clock.Now(), Message: "m"}
		err := s.deliverHTTP(context.Background(), f.topic, d, "text/plain; charset=UTF-8", false)
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("deliverHTTP(%s) error shows the password: %v", RedactURL(ep), err)
		}
	}
	if !strings.Contains(logs.String(), "hook:****@") {
		t.Errorf("log = %q; want the refusing endpoint logged with its password masked", logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("log shows the endpoint password:\n%s", logs.String())
	}
}

// A confirmation token is good for two days and once: the confirmation link fails after
// that, and after the subscription was confirmed.
func TestConfirmationTokenExpiresAndIsUsedOnce(t *testing.T) {
	f := newMailFixture(t)
	s := New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), Store: f.st, BaseURL: "http://127.0.0.1:1"})
	ctx := context.Background()
	pending := &Subscription{SubscriptionArn: f.topic.TopicArn + ":" + newID(), TopicArn: f.topic.TopicArn, Protocol: "email",
		Endpoint: "new@example.com", Owner: "123456789012", Attributes: map[string]string{}, Created: f.clock.Now(),
		account: "123456789012", region: "us-east-1"}
	issue := func() string {
		var token string
		err := f.st.Update(ctx, func(tx store.Tx) error {
			if err := saveSubscription(ctx, tx, pending); err != nil {
				return err
			}
			var err error
			token, err = issueToken(ctx, tx, pending, f.clock.Now(), false)
			return err
		})
		if err != nil {
			t.Fatalf("issue token: %v", err)
		}
		return token
	}
	follow := func(token string) (int, string) {
		link := s.confirmURL(f.topic.TopicArn, token)
		req := httptest.NewRequest(http.MethodGet, strings.TrimPrefix(link, "http://127.0.0.1:1"), nil)
		h, ok := s.Unrouted(req)
		if !ok {
			t.Fatalf("Unrouted(%s) = not served", link)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	old := issue()
	f.clock.Add(tokenLifetime + time.Minute)
	if code, body := follow(old); code == http.StatusOK {
		t.Fatalf("confirm with a token issued %v ago = %d\n%s; want refused", tokenLifetime+time.Minute, code, body)
	}
	fresh := issue()
	if code, body := follow(fresh); code != http.StatusOK || !strings.Contains(body, "Subscription confirmed!") {
		t.Fatalf("confirm with a fresh token = %d\n%s", code, body)
	}
	if code, _ := follow(fresh); code == http.StatusOK {
		t.Errorf("confirm again with the used token = %d; want refused", code)
	}
	// Nothing of the token is in the stored subscription.
	err := f.st.View(ctx, func(tx store.ReadTx) error {
		r, err := tx.GetResource(ctx, "123456789012", "us-east-1", SubscriptionType, pending.SubscriptionArn)
		if err != nil || r == nil {
			t.Fatalf("GetResource = %v, %v", r, err)
		}
		var doc map[string]any
		json.Unmarshal(r.Config, &doc)
		if _, ok := doc["Token"]; ok || strings.Contains(string(r.Config), fresh) {
			t.Errorf("stored subscription = %s; want no token", r.Config)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A subscription stored with its token (before tokens had a bucket of their own) can
// still be confirmed, and saving it moves the token out of the resource.
func TestLegacyTokenMoves(t *testing.T) {
	f := newMailFixture(t)
	ctx := context.Background()
	sub := &Subscription{SubscriptionArn: f.topic.TopicArn + ":" + newID(), TopicArn: f.topic.TopicArn, Protocol: "email",
		Endpoint: "old@example.com", Owner: "123456789012", Attributes: map[string]string{}, Created: f.clock.Now()}
	raw, _ := json.Marshal(sub)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	doc["Token"] = "legacy-token"
	raw, _ = json.Marshal(doc)
	err := f.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutResource(ctx, &store.Resource{Account: "123456789012", Region: "us-east-1", Type: SubscriptionType,
			ID: sub.SubscriptionArn, ARN: sub.SubscriptionArn, Config: raw}); err != nil {
			return err
		}
		return tx.Put(ctx, topicSubsBucket, sub.TopicArn+"|"+sub.SubscriptionArn, []byte{})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.st.Update(ctx, func(tx store.Tx) error {
		got, err := confirm(ctx, tx, f.topic.TopicArn, "legacy-token", false, f.clock.Now())
		if err != nil {
			return err
		}
		if !got.Confirmed {
			t.Errorf("confirmed = false")
		}
		r, err := tx.GetResource(ctx, "123456789012", "us-east-1", SubscriptionType, sub.SubscriptionArn)
		if err != nil {
			return err
		}
		if strings.Contains(string(r.Config), "legacy-token") {
			t.Errorf("stored subscription = %s; want the token gone", r.Config)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("confirm with the legacy token: %v", err)
	}
}

// Tokens nobody used are dropped once expired, with their index entries; live ones stay.
func TestExpiredTokensPruned(t *testing.T) {
	f := newMailFixture(t)
	s := New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), Store: f.st, BaseURL: "http://127.0.0.1:1"})
	ctx := context.Background()
	var live string
	err := f.st.Update(ctx, func(tx store.Tx) error {
		if _, err := issueToken(ctx, tx, f.sub, f.clock.Now(), false); err != nil {
			return err
		}
		if _, err := issueToken(ctx, tx, f.sub, f.clock.Now(), true); err != nil {
			return err
		}
		var err error
		live, err = issueToken(ctx, tx, f.sub, f.clock.Now().Add(time.Hour), false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(tokenLifetime)
	if err := s.pruneTokens(ctx, f.clock.Now()); err != nil {
		t.Fatalf("pruneTokens: %v", err)
	}
	var keys []string
	f.st.View(ctx, func(tx store.ReadTx) error {
		kvs, err := tx.List(ctx, tokenBucket, "", "", 100)
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
		}
		return err
	})
	if len(keys) != 3 {
		t.Fatalf("token keys after pruning = %v; want the live token's 3", keys)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, live) {
			t.Errorf("key %q left; want only the live token's", k)
		}
	}
}

// A subscription still pending confirmation 48 hours after Subscribe is deleted, with its
// topic index entry; a younger pending one and a confirmed one stay.
func TestUnconfirmedSubscriptionsDeletedAfter48Hours(t *testing.T) {
	f := newMailFixture(t)
	s := New(Options{Clock: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), Store: f.st, BaseURL: "http://127.0.0.1:1"})
	ctx := context.Background()
	pending := func(created time.Time) *Subscription {
		return &Subscription{SubscriptionArn: f.topic.TopicArn + ":" + newID(), TopicArn: f.topic.TopicArn, Protocol: "email",
			Endpoint: "late@example.com", Owner: "123456789012", Attributes: map[string]string{}, Created: created,
			account: "123456789012", region: "us-east-1"}
	}
	old, young := pending(f.clock.Now()), pending(f.clock.Now().Add(time.Hour))
	err := f.st.Update(ctx, func(tx store.Tx) error {
		for _, sub := range []*Subscription{old, young} {
			if err := saveSubscription(ctx, tx, sub); err != nil {
				return err
			}
			if _, err := issueToken(ctx, tx, sub, sub.Created, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(unconfirmedLifetime - time.Second)
	if err := s.pruneTokens(ctx, f.clock.Now()); err != nil {
		t.Fatalf("pruneTokens: %v", err)
	}
	left := func() []string {
		var arns []string
		f.st.View(ctx, func(tx store.ReadTx) error {
			subs, err := topicSubscriptions(ctx, tx, f.topic.TopicArn)
			for _, sub := range subs {
				arns = append(arns, sub.SubscriptionArn)
			}
			return err
		})
		slices.Sort(arns)
		return arns
	}
	all := []string{f.sub.SubscriptionArn, old.SubscriptionArn, young.SubscriptionArn}
	slices.Sort(all)
	if got := left(); !slices.Equal(got, all) {
		t.Fatalf("subscriptions 1 s before 48 hours = %v; want all three %v", got, all)
	}
	f.clock.Add(time.Second)
	if err := s.pruneTokens(ctx, f.clock.Now()); err != nil {
		t.Fatalf("pruneTokens: %v", err)
	}
	want := []string{f.sub.SubscriptionArn, young.SubscriptionArn}
	slices.Sort(want)
	if got := left(); !slices.Equal(got, want) {
		t.Errorf("subscriptions after 48 hours = %v; want the confirmed and the younger pending one %v", got, want)
	}
	f.st.View(ctx, func(tx store.ReadTx) error {
		if sub, err := getSubscription(ctx, tx, old.SubscriptionArn); err != nil || sub != nil {
			t.Errorf("old pending subscription = %v, %v; want deleted", sub, err)
		}
		return nil
	})
}
