package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/bus/pattern"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
	"github.com/bannin/bannin/internal/wire/events"
)

// Key-value buckets of event delivery.
const (
	// deliveredBucket marks each (event id, rule ARN, target id) delivered, in the same
	// transaction as the delivery: the stream is at-least-once, deliveries are not.
	deliveredBucket = "bus.delivered"
	// retryBucket holds failed deliveries waiting for their next attempt, keyed by due
	// time (zero-padded Unix nanoseconds) so that Run reads them in order.
	retryBucket = "bus.retry"
	// ruleGenBucket holds a generation per bus (and "*" for all), changed in the
	// transaction of every rule change, so that cached matchers are rebuilt.
	ruleGenBucket = "bus.rulegen"
)

// Retry defaults: EventBridge retries for 24 hours and up to 185 times.
const (
	defaultRetryAttempts = 185
	defaultEventAge      = 24 * time.Hour
	maxBackoff           = 5 * time.Minute
)

// StateAllManagement is the rule state that also receives read-only CloudTrail
// management events.
const StateAllManagement = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

func busKey(account, region, bus string) string { return account + "|" + region + "|" + bus }

// bumpRules changes the generation of a bus's rules in tx: matchers cached for it are
// stale once tx commits.
func bumpRules(ctx context.Context, tx store.Tx, account, region, bus string) error {
	g := []byte(newID())
	if err := tx.Put(ctx, ruleGenBucket, busKey(account, region, bus), g); err != nil {
		return fmt.Errorf("bus: bump rule generation: %w", err)
	}
	if err := tx.Put(ctx, ruleGenBucket, "*", g); err != nil {
		return fmt.Errorf("bus: bump rule generation: %w", err)
	}
	return nil
}

// compiled is a bus's enabled rules with one shared matcher over their patterns.
type compiled struct {
	gen     string
	matcher *pattern.Matcher
	rules   map[string]*Rule // by ARN
}

// rulesFor returns the compiled rules of a bus, rebuilding the cached matcher only when
// the bus's rule generation has changed since it was built.
func (s *Service) rulesFor(ctx context.Context, account, region, bus string) (*compiled, error) {
	key := busKey(account, region, bus)
	s.mu.Lock()
	cur := s.buses[key]
	s.mu.Unlock()
	var next *compiled
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		g, err := tx.Get(ctx, ruleGenBucket, key)
		if err != nil {
			return err
		}
		if cur != nil && cur.gen == string(g) {
			return nil
		}
		rules, err := s.Rules(ctx, tx, account, region, bus)
		if err != nil {
			return err
		}
		next = &compiled{gen: string(g), matcher: pattern.NewMatcher(), rules: map[string]*Rule{}}
		for i := range rules {
			r := &rules[i]
			next.rules[r.Arn] = r
			if r.Pattern != nil {
				next.matcher.Add(r.Arn, r.Pattern)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bus: rules of %s: %w", bus, err)
	}
	if next == nil {
		return cur, nil
	}
	s.mu.Lock()
	s.buses[key] = next
	s.mu.Unlock()
	return next, nil
}

// Consumers matches every event put on a bus, and every CloudTrail record (as the "AWS
// API Call via CloudTrail" event of its account's default bus), against the bus's
// rules and delivers it to their targets; calls to API destinations are only queued,
// for Run's sender to make.
func (s *Service) Consumers() []stream.Consumer {
	if s.opts.Store == nil {
		return nil
	}
	return []stream.Consumer{{Name: "bus.rules", Kinds: []string{KindEvent, store.KindAPICall}, Batch: 200, Handle: s.handle}}
}

func (s *Service) handle(ctx context.Context, entries []store.Entry) error {
	var arns []string               // reused by every match of the batch
	buses := map[string]*compiled{} // each bus's rules, read once per batch
	rulesOf := func(account, region, bus string) (*compiled, error) {
		k := busKey(account, region, bus)
		if c, ok := buses[k]; ok {
			return c, nil
		}
		c, err := s.rulesFor(ctx, account, region, bus)
		buses[k] = c
		return c, err
	}
	for _, e := range entries {
		var be *busEntry
		switch e.Kind {
		case store.KindAPICall:
			// Most calls meet a default bus without rules: no event to build then, and the
			// record's account and region are all that is read of it (audit's parser is
			// several times faster than decoding the header with encoding/json).
			if h, err := audit.ParseRecord(e.Payload); err == nil {
				if c, err := rulesOf(h.Account, h.Region, DefaultBus); err != nil {
					return err
				} else if len(c.rules) == 0 {
					continue
				}
			}
			r, t, ok := ctHeader(e.Payload)
			if !ok {
				continue
			}
			if c, err := rulesOf(r.RecipientAccountID, r.AWSRegion, DefaultBus); err != nil {
				return err
			} else if len(c.rules) == 0 {
				continue
			}
			if store.NormalizeCategory(r.EventCategory) == store.CategoryData {
				if s.opts.TrailLogs == nil {
					continue
				}
				logged, err := s.opts.TrailLogs(ctx, e.Payload, e.Time)
				if err != nil {
					return err
				}
				if !logged {
					continue
				}
			}
			if be, ok = fromCloudTrail(e.Payload, r, t); !ok {
				continue
			}
		case KindEvent:
			// The bus is named before the event (appendEvent writes it last): an event on a
			// bus without rules is skipped without reading it.
			if account, region, bus, ok := entryBus(e.Payload); ok {
				if c, err := rulesOf(account, region, bus); err != nil {
					return err
				} else if len(c.rules) == 0 {
					continue
				}
			}
			be = &busEntry{}
			if err := json.Unmarshal(e.Payload, be); err != nil {
				s.opts.Logger.Error("bus: undecodable event entry", "seq", e.Seq, "err", err)
				continue
			}
		}
		c, err := rulesOf(be.Account, be.Region, be.Bus)
		if err != nil {
			return err
		}
		if err := s.route(ctx, c, be, e.Seq, &arns); err != nil {
			return err
		}
	}
	return nil
}

// entryBus reads the account, region and bus of a KindEvent payload without decoding the
// event, when they come before it (ok false otherwise: the caller decodes it all).
func entryBus(payload []byte) (account, region, bus string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", "", false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", "", "", false
		}
		if k == "event" {
			return account, region, bus, account != "" && region != "" && bus != ""
		}
		v, err := dec.Token()
		if err != nil {
			return "", "", "", false
		}
		if _, isDelim := v.(json.Delim); isDelim {
			return "", "", "", false
		}
		str, _ := v.(string)
		switch k {
		case "account":
			account = str
		case "region":
			region = str
		case "bus":
			bus = str
		}
	}
	return "", "", "", false
}

// route finds the rules of c an event (stream entry seq) is for and delivers it to their
// targets; buf holds the matched rule ARNs, reused from event to event.
func (s *Service) route(ctx context.Context, c *compiled, be *busEntry, seq int64, buf *[]string) error {
	var matched []*Rule
	if be.Rule != "" {
		if r := c.rules[be.Rule]; r != nil {
			matched = append(matched, r)
		}
	} else {
		arns, err := c.matcher.MatchAppend((*buf)[:0], be.Event)
		*buf = arns
		if err != nil {
			s.opts.Logger.Warn("bus: event does not parse", "bus", be.Bus, "err", err)
			return nil
		}
		for _, arn := range arns {
			r := c.rules[arn]
			if r == nil || (be.AllManagement && r.State != StateAllManagement) {
				continue
			}
			matched = append(matched, r)
		}
	}
	for _, r := range matched {
		for _, t := range r.Targets {
			d := &delivery{Account: be.Account, Region: be.Region, RuleName: r.Name, RuleArn: r.Arn,
				Target: t, Event: be.Event, Ingested: be.Ingested, Seq: seq}
			if err := s.deliver(ctx, d, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// delivery is one event on its way to one target of one rule; failed ones are stored in
// retryBucket as JSON, and API destination ones, queued or failed, in pendingBucket.
type delivery struct {
	Account  string          `json:"account"`
	Region   string          `json:"region"`
	RuleName string          `json:"ruleName"`
	RuleArn  string          `json:"ruleArn"`
	Target   events.Target   `json:"target"`
	Event    json.RawMessage `json:"event"`
	Ingested time.Time       `json:"ingested"`
	Attempts int             `json:"attempts"`
	// Seq is the event's stream position, which orders an API destination's calls.
	Seq int64 `json:"seq,omitempty"`
}

// toDestination tells whether the delivery's target is an API destination.
func (d *delivery) toDestination() bool { return apiDestARN.MatchString(aws.ToString(d.Target.Arn)) }

// eventHead is what delivery reads of an event.
type eventHead struct {
	ID   string `json:"id"`
	Time string `json:"time"`
}

func (d *delivery) head() eventHead {
	var h eventHead
	_ = json.Unmarshal(d.Event, &h)
	return h
}

func (d *delivery) key() string {
	return d.head().ID + "|" + d.RuleArn + "|" + aws.ToString(d.Target.Id)
}

// failure is why a delivery failed; retry tells whether EventBridge would try again.
type failure struct {
	err   error
	retry bool
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func permanent(format string, args ...any) error {
	return &failure{err: fmt.Errorf(format, args...)}
}

// retryable tells whether EventBridge would try a failed delivery again: unless the
// failure says otherwise, it would.
func retryable(err error) bool {
	var f *failure
	if errors.As(err, &f) {
		return f.retry
	}
	return true
}

// deliver attempts a delivery, or queues it when its target is an API destination; a
// failure is stored for a retry (or dropped once the target's RetryPolicy is spent).
// retryKey is the stored retry being attempted, if any. Only store failures are
// returned.
func (s *Service) deliver(ctx context.Context, d *delivery, retryKey string) error {
	if d.toDestination() {
		return s.enqueue(ctx, d, retryKey)
	}
	err := s.attempt(ctx, d, retryKey)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.failed(ctx, d, retryKey, err, retryable(err))
}

// failed stores a failed delivery for its next attempt, after a backoff, or drops it
// once its target's RetryPolicy is spent; retryKey is its stored entry, if any (in
// pendingBucket for an API destination, else in retryBucket).
func (s *Service) failed(ctx context.Context, d *delivery, retryKey string, cause error, retry bool) error {
	bucket := retryBucket
	if d.toDestination() {
		bucket = pendingBucket
	}
	attempts, age := defaultRetryAttempts, defaultEventAge
	if rp := d.Target.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			attempts = int(*rp.MaximumRetryAttempts)
		}
		if rp.MaximumEventAgeInSeconds != nil {
			age = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	now := s.opts.Clock()
	log := s.opts.Logger.With("rule", d.RuleArn, "target", aws.ToString(d.Target.Id), "event", d.head().ID, "attempts", d.Attempts+1)
	if !retry || d.Attempts >= attempts || now.Sub(d.Ingested) >= age {
		log.Warn("bus: delivery failed; event dropped", "err", cause)
		if retryKey == "" {
			return nil
		}
		return s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, bucket, retryKey) })
	}
	log.Info("bus: delivery failed; will retry", "err", cause)
	d.Attempts++
	wait := min(time.Second<<min(d.Attempts-1, 20), maxBackoff)
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("bus: encode retry: %w", err)
	}
	key := fmt.Sprintf("%020d|%s", now.Add(wait).UnixNano(), d.key())
	if bucket == pendingBucket {
		key = pendingKey(now.Add(wait), d.Seq, d.key())
	}
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		if retryKey != "" {
			if err := tx.Delete(ctx, bucket, retryKey); err != nil {
				return err
			}
		}
		return tx.Put(ctx, bucket, key, raw)
	})
}

// retryDue attempts the stored retries that are due at now.
func (s *Service) retryDue(ctx context.Context, now time.Time) error {
	var due []store.KV
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		kvs, err := tx.List(ctx, retryBucket, "", "", 100)
		for _, kv := range kvs {
			ns, _, _ := strings.Cut(kv.Key, "|")
			n, perr := strconv.ParseInt(ns, 10, 64)
			if perr == nil && n > now.UnixNano() {
				break
			}
			due = append(due, kv)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: read retries: %w", err)
	}
	for _, kv := range due {
		var d delivery
		if err := json.Unmarshal(kv.Value, &d); err != nil {
			s.opts.Logger.Error("bus: undecodable retry dropped", "key", kv.Key, "err", err)
			if err := s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, retryBucket, kv.Key) }); err != nil {
				return err
			}
			continue
		}
		if err := s.deliver(ctx, &d, kv.Key); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs a delivery that writes in a store transaction: skipped if already made,
// marked delivered and its stored retry removed in the same transaction.
func (s *Service) inTx(ctx context.Context, d *delivery, retryKey string, fn func(tx store.Tx) error) error {
	key := d.key()
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		if v, err := tx.Get(ctx, deliveredBucket, key); err != nil || v != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return markDelivered(ctx, tx, key, retryKey, s.opts.Clock())
	})
}

func markDelivered(ctx context.Context, tx store.Tx, key, retryKey string, now time.Time) error {
	if retryKey != "" {
		if err := tx.Delete(ctx, retryBucket, retryKey); err != nil {
			return err
		}
	}
	if err := tx.Put(ctx, deliveredBucket, key, []byte(now.UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	return tx.Put(ctx, deliveredIndexBucket, markIndexKey(now, key), nil)
}

var (
	snsARN        = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([\w-]+(\.fifo)?)$`)
	logGroupARN   = regexp.MustCompile(`^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(:\*)?$`)
	automationARN = regexp.MustCompile(`^arn:aws[a-z-]*:ssm:([a-z0-9-]+):(\d{12}):automation-definition/([^:]+)(?::(.+))?$`)
	apiDestARN    = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):api-destination/([^/]+)(/.*)?$`)
)

// attempt makes one delivery attempt.
func (s *Service) attempt(ctx context.Context, d *delivery, retryKey string) error {
	arn := aws.ToString(d.Target.Arn)
	if m := busARN.FindStringSubmatch(arn); m != nil {
		// The event goes on the other bus as it is: its rules apply their own targets' inputs.
		return s.inTx(ctx, d, retryKey, func(tx store.Tx) error {
			if m[3] != DefaultBus {
				r, err := tx.GetResource(ctx, m[2], m[1], BusType, m[3])
				if err != nil {
					return err
				}
				if r == nil {
					return fmt.Errorf("bus: target event bus %s does not exist", arn)
				}
			}
			return appendEvent(ctx, tx, &busEntry{Account: m[2], Region: m[1], Bus: m[3], Event: d.Event, Ingested: s.opts.Clock().UTC()})
		})
	}
	input, err := targetInput(d)
	if err != nil {
		return permanent("bus: target input: %w", err)
	}
	switch {
	case snsARN.MatchString(arn):
		if s.opts.Publish == nil {
			return permanent("bus: no SNS publisher for %s", arn)
		}
		return s.inTx(ctx, d, retryKey, func(tx store.Tx) error {
			_, err := s.opts.Publish(ctx, tx, arn, "", input)
			return err
		})
	case logGroupARN.MatchString(arn):
		m := logGroupARN.FindStringSubmatch(arn)
		if s.opts.AppendLogs == nil {
			return permanent("bus: no log writer for %s", arn)
		}
		msg, at := logMessage(d, input)
		return s.inTx(ctx, d, retryKey, func(tx store.Tx) error {
			return s.opts.AppendLogs(ctx, tx, m[2], m[1], m[3], d.head().ID, []string{msg}, at)
		})
	case automationARN.MatchString(arn):
		m := automationARN.FindStringSubmatch(arn)
		if s.opts.StartAutomation == nil {
			return permanent("bus: no automation runner for %s", arn)
		}
		var params map[string][]string
		if d.Target.Input != nil || d.Target.InputTransformer != nil || d.Target.InputPath != nil {
			if err := json.Unmarshal([]byte(input), &params); err != nil {
				return permanent("bus: automation parameters of target %s are not a map of string lists: %w", aws.ToString(d.Target.Id), err)
			}
		}
		return s.inTx(ctx, d, retryKey, func(tx store.Tx) error {
			_, err := s.opts.StartAutomation(ctx, tx, m[2], m[1], m[3], m[4], params)
			return err
		})
	}
	return permanent("bus: target %s is not a kind bannin delivers to", arn)
}

// logMessage is the log event a CloudWatch Logs target gets: the input, or, when an
// input transformer made {"timestamp": ..., "message": ...} as EventBridge asks of log
// targets, that message at that time. The default time is the event's.
func logMessage(d *delivery, input string) (string, time.Time) {
	at, err := time.Parse(time.RFC3339, d.head().Time)
	if err != nil {
		at = d.Ingested
	}
	if d.Target.InputTransformer == nil {
		return input, at
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(input), &obj) != nil || len(obj) != 2 || obj["message"] == nil || obj["timestamp"] == nil {
		return input, at
	}
	msg := string(obj["message"])
	var str string
	if json.Unmarshal(obj["message"], &str) == nil {
		msg = str
	}
	var ms int64
	if json.Unmarshal(obj["timestamp"], &ms) == nil {
		at = time.UnixMilli(ms)
	} else if json.Unmarshal(obj["timestamp"], &str) == nil {
		if t, err := time.Parse(time.RFC3339, str); err == nil {
			at = t
		}
	}
	return msg, at
}
