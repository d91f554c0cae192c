package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// Delivery message types (the Type of SNS's JSON documents).
const (
	typeNotification = "Notification"
	typeConfirmation = "SubscriptionConfirmation"
	typeUnsubscribe  = "UnsubscribeConfirmation"
)

// fanOutConsumer names the stream consumer that turns published messages into deliveries.
const fanOutConsumer = "sns-fanout"

// delivery is one message owed to one endpoint, kept in queueBucket until it is delivered
// or its delivery policy is exhausted.
type delivery struct {
	ID              string               `json:"Id"`
	Type            string               `json:"Type"`
	MessageID       string               `json:"MessageId"`
	SubscriptionArn string               `json:"SubscriptionArn"`
	TopicArn        string               `json:"TopicArn"`
	Protocol        string               `json:"Protocol"`
	Endpoint        string               `json:"Endpoint"`
	Token           string               `json:"Token,omitempty"`
	Timestamp       time.Time            `json:"Timestamp"`
	Subject         string               `json:"Subject,omitempty"`
	Message         string               `json:"Message,omitempty"`
	Attributes      map[string]Attribute `json:"MessageAttributes,omitempty"`
	// Attempts counts the attempts made so far.
	Attempts int `json:"Attempts"`

	key string
}

func queueKey(due time.Time, id string) string {
	return fmt.Sprintf("%020d/%s", due.UnixNano(), id)
}

func dueOf(key string) time.Time {
	n, _ := strconv.ParseInt(key[:strings.IndexByte(key, '/')], 10, 64)
	return time.Unix(0, n)
}

// enqueue stores a delivery due at due in tx.
func (s *Service) enqueue(ctx context.Context, tx store.Tx, d *delivery, due time.Time) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, queueBucket, queueKey(due, d.ID), raw); err != nil {
		return fmt.Errorf("notify: queue delivery %s: %w", d.ID, err)
	}
	s.queued.Store(time.Now().UnixNano())
	return nil
}

// Consumers returns the stream consumer that fans published messages out to deliveries.
func (s *Service) Consumers() []stream.Consumer {
	if s.opts.Store == nil {
		return nil
	}
	return []stream.Consumer{{Name: fanOutConsumer, Kinds: []string{KindPublish}, Handle: s.fanOut}}
}

// fanOut queues one delivery per confirmed subscription whose filter policy the message
// passes. It commits the consumer's checkpoint in the same transaction, so that a message
// is fanned out exactly once even if the process stops before the runner's own commit.
func (s *Service) fanOut(ctx context.Context, entries []store.Entry) error {
	now := s.opts.Clock()
	err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
		pos, err := tx.Checkpoint(ctx, fanOutConsumer)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Seq <= pos {
				continue
			}
			var m message
			if err := json.Unmarshal(e.Payload, &m); err != nil {
				s.opts.Logger.Error("notify: undecodable published message", "seq", e.Seq, "err", err)
				continue
			}
			subs, err := topicSubscriptions(ctx, tx, m.TopicArn)
			if err != nil {
				return err
			}
			for _, sub := range subs {
				if !sub.Confirmed || m.Timestamp.Before(sub.ConfirmedAt) || !filterMatches(sub, &m) {
					continue
				}
				d := &delivery{ID: newID(), Type: typeNotification, MessageID: m.MessageID, SubscriptionArn: sub.SubscriptionArn,
					TopicArn: m.TopicArn, Protocol: sub.Protocol, Endpoint: sub.Endpoint, Timestamp: m.Timestamp,
					Subject: m.Subject, Message: m.forProtocol(sub.Protocol), Attributes: m.Attributes}
				if err := s.enqueue(ctx, tx, d, now); err != nil {
					return err
				}
			}
		}
		return tx.SetCheckpoint(ctx, fanOutConsumer, entries[len(entries)-1].Seq)
	})
	if err != nil {
		return fmt.Errorf("notify: fan out: %w", err)
	}
	s.signal()
	return nil
}

// Run delivers due deliveries and retries failed ones until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	if s.opts.Store == nil {
		<-ctx.Done()
		return nil
	}
	var changed func() <-chan struct{}
	if n, ok := s.opts.Store.(stream.Notifier); ok {
		changed = n.Changed
	}
	var pruned, next time.Time
	read := true // the queue is read at start, on a signal, when a delivery falls due, and on commits shortly after an enqueue
	for ctx.Err() == nil {
		var wake <-chan struct{}
		if changed != nil {
			wake = changed()
		}
		if now := s.opts.Clock(); now.Sub(pruned) >= pruneEvery || now.Before(pruned) {
			pruned = now
			if err := s.pruneTokens(ctx, now); err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("notify: drop expired tokens", "err", err)
			}
		}
		if read {
			var err error
			if next, err = s.deliverDue(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("notify: deliver", "err", err)
			}
		}
		wait := s.opts.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(s.opts.Clock()), time.Millisecond))
		}
		t := time.NewTimer(wait)
		read = true
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-wake:
			// A commit: it can only have queued something if an enqueue ran lately (its
			// transaction commits after it ran; a second covers any transaction, and the
			// Poll timer anything else).
			read = time.Since(time.Unix(0, s.queued.Load())) < time.Second
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// pruneEvery is how often Run drops expired confirmation and restore tokens.
const pruneEvery = time.Minute

// pruneTokens drops every token expired at now, 100 a transaction.
func (s *Service) pruneTokens(ctx context.Context, now time.Time) error {
	for more := true; more; {
		err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			more, err = pruneTokens(ctx, tx, now)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// maxParallel bounds the deliveries attempted at once.
const maxParallel = 8

// deliverDue attempts every due delivery and returns when the next pending one is due
// (zero when none is pending).
func (s *Service) deliverDue(ctx context.Context) (time.Time, error) {
	for {
		now := s.opts.Clock()
		var due []*pending
		var next time.Time
		// One read transaction per pass, for the queue and what each delivery needs: the
		// attempts themselves run in parallel without holding read connections.
		err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
			kvs, err := tx.List(ctx, queueBucket, "", "", 100)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if at := dueOf(kv.Key); at.After(now) {
					next = at
					break
				}
				p := &pending{d: &delivery{key: kv.Key}, key: kv.Key}
				if err := json.Unmarshal(kv.Value, p.d); err != nil {
					s.opts.Logger.Error("notify: undecodable delivery dropped", "key", kv.Key, "err", err)
					p.d = nil
					due = append(due, p)
					continue
				}
				if p.t, err = getTopic(ctx, tx, p.d.TopicArn); err != nil {
					return err
				}
				if p.sub, err = getSubscription(ctx, tx, p.d.SubscriptionArn); err != nil {
					return err
				}
				due = append(due, p)
			}
			return nil
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("notify: read delivery queue: %w", err)
		}
		if len(due) == 0 {
			return next, nil
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxParallel)
		errs := make([]error, len(due))
		for i, p := range due {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs[i] = s.attemptAndRecord(ctx, p)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return time.Time{}, err
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
	}
}

// errNoMailServer is the outcome of a mail delivery while no SMTP server is configured.
var errNoMailServer = errors.New("notify: no SMTP server configured")

// errRetry marks a failure worth retrying (a server error, a timeout, no connection).
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// attemptAndRecord makes one attempt at d and records its outcome: done (delivered, or
// failed for good, or no longer owed) removes it; a retryable failure reschedules it by the
// delivery policy, or drops it once the policy is exhausted.
func (s *Service) attemptAndRecord(ctx context.Context, p *pending) error {
	d := p.d
	if d == nil {
		return s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, queueBucket, p.key) })
	}
	policy, err := s.attempt(ctx, d, p.t, p.sub)
	if ctx.Err() != nil {
		return nil // the attempt was cut short; it stays queued as it was.
	}
	var retry errRetry
	var reschedule time.Time
	switch {
	case err == nil:
	case errors.Is(err, errNoMailServer):
		// Mail waits for a mail server without using up its attempts.
		reschedule = s.opts.Clock().Add(time.Minute)
	case errors.As(err, &retry):
		d.Attempts++
		if wait, ok := policy.delay(d.Attempts); ok {
			reschedule = s.opts.Clock().Add(wait)
			s.opts.Logger.Warn("notify: delivery failed; will retry", "id", d.ID, "subscription", d.SubscriptionArn,
				"attempt", d.Attempts, "retry_in", wait, "err", err)
		} else {
			s.opts.Logger.Error("notify: delivery failed; retries exhausted", "id", d.ID, "subscription", d.SubscriptionArn,
				"attempts", d.Attempts, "err", err)
		}
	default:
		s.opts.Logger.Error("notify: delivery failed for good", "id", d.ID, "subscription", d.SubscriptionArn, "err", err)
	}
	err = s.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(ctx, queueBucket, d.key); err != nil {
			return err
		}
		if reschedule.IsZero() {
			return nil
		}
		return s.enqueue(ctx, tx, d, reschedule)
	})
	if err != nil {
		return fmt.Errorf("notify: record delivery %s: %w", d.ID, err)
	}
	return nil
}

// pending is a due delivery with the topic and subscription it was read with (nil when
// they no longer exist). A nil d is an undecodable entry to drop (key says which).
type pending struct {
	d   *delivery
	key string
	t   *Topic
	sub *Subscription
}

// attempt makes one attempt at d and returns the retry policy that applies to it.
func (s *Service) attempt(ctx context.Context, d *delivery, t *Topic, sub *Subscription) (retryPolicy, error) {
	switch d.Type {
	case typeNotification:
		if sub == nil || !sub.Confirmed || t == nil {
			return mailRetry, nil // unsubscribed meanwhile: nothing is owed.
		}
	case typeConfirmation:
		if sub == nil || sub.Confirmed || t == nil {
			return mailRetry, nil
		}
	}
	if t == nil {
		t = &Topic{TopicArn: d.TopicArn, Attributes: map[string]string{}}
	}
	var subAttrs map[string]string
	if sub != nil {
		subAttrs = sub.Attributes
	}
	switch d.Protocol {
	case "email", "email-json":
		policy := mailRetry
		if s.opts.SMTPURL == "" || s.smtpErr != nil {
			return policy, errNoMailServer
		}
		return policy, s.deliverMail(ctx, t, d)
	default:
		policy, ctype := httpPolicy(t.Attributes["DeliveryPolicy"], subAttrs["DeliveryPolicy"])
		raw := subAttrs["RawMessageDelivery"] == "true"
		return policy, s.deliverHTTP(ctx, t, d, ctype, raw)
	}
}
