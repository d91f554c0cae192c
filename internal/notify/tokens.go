package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// tokenBucket holds confirmation tokens, out of the stored subscription so that they never
// reach its configuration items (AWS Config) or anything else that shows a resource. Keys:
// "t/" + token holds a tokenRecord; "s/" + subscriptionARN + "|" + token indexes a
// subscription's tokens, so that confirming or deleting it clears them all; "e/" + expiry
// (20 digits of Unix nanoseconds) + "|" + token indexes them by expiry, so that Run drops
// the ones never used.
const tokenBucket = "sns-tokens"

// tokenLifetime is how long a confirmation token is valid ("Confirmation tokens are valid
// for two days", Subscribe in the SNS API reference; older revisions said three).
const tokenLifetime = 48 * time.Hour

// tokenRecord is what a token confirms.
type tokenRecord struct {
	SubscriptionArn string    `json:"SubscriptionArn"`
	TopicArn        string    `json:"TopicArn"`
	Expires         time.Time `json:"Expires"`
	// Restore is the subscription an unsubscribe removed: confirming the token (the
	// SubscribeURL of an UnsubscribeConfirmation, the mail page's re-subscribe link) brings
	// it back, as AWS does.
	Restore json.RawMessage `json:"Restore,omitempty"`
}

// issueToken stores a new token for sub, valid for tokenLifetime from now; restore keeps
// sub itself with it (see tokenRecord.Restore).
func issueToken(ctx context.Context, tx store.Tx, sub *Subscription, now time.Time, restore bool) (string, error) {
	token := newToken()
	rec := tokenRecord{SubscriptionArn: sub.SubscriptionArn, TopicArn: sub.TopicArn, Expires: now.UTC().Add(tokenLifetime)}
	if restore {
		raw, err := json.Marshal(sub)
		if err != nil {
			return "", fmt.Errorf("notify: encode subscription %s: %w", sub.SubscriptionArn, err)
		}
		rec.Restore = raw
	}
	if err := putToken(ctx, tx, token, &rec); err != nil {
		return "", err
	}
	return token, nil
}

func putToken(ctx context.Context, tx store.Tx, token string, rec *tokenRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, tokenBucket, "t/"+token, raw); err != nil {
		return fmt.Errorf("notify: store token of %s: %w", rec.SubscriptionArn, err)
	}
	if err := tx.Put(ctx, tokenBucket, "s/"+rec.SubscriptionArn+"|"+token, []byte{}); err != nil {
		return fmt.Errorf("notify: store token of %s: %w", rec.SubscriptionArn, err)
	}
	if err := tx.Put(ctx, tokenBucket, expiryKey(rec.Expires, token), []byte{}); err != nil {
		return fmt.Errorf("notify: store token of %s: %w", rec.SubscriptionArn, err)
	}
	return nil
}

func expiryKey(expires time.Time, token string) string {
	return fmt.Sprintf("e/%020d|%s", expires.UnixNano(), token)
}

// lookupToken returns what token confirms, or nil.
func lookupToken(ctx context.Context, tx store.ReadTx, token string) (*tokenRecord, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := tx.Get(ctx, tokenBucket, "t/"+token)
	if err != nil {
		return nil, fmt.Errorf("notify: read token: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	var rec tokenRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("notify: decode token: %w", err)
	}
	return &rec, nil
}

// dropToken deletes one token.
func dropToken(ctx context.Context, tx store.Tx, token string, rec *tokenRecord) error {
	for _, k := range []string{"t/" + token, "s/" + rec.SubscriptionArn + "|" + token, expiryKey(rec.Expires, token)} {
		if err := tx.Delete(ctx, tokenBucket, k); err != nil {
			return fmt.Errorf("notify: delete token: %w", err)
		}
	}
	return nil
}

// pruneTokens drops up to 100 tokens expired at now (never used: confirmation messages
// nobody followed, restore links of unsubscriptions that stood) and reports whether more
// may be left.
func pruneTokens(ctx context.Context, tx store.Tx, now time.Time) (more bool, err error) {
	kvs, err := tx.List(ctx, tokenBucket, "e/", "", 100)
	if err != nil {
		return false, fmt.Errorf("notify: list expired tokens: %w", err)
	}
	for _, kv := range kvs {
		rest := strings.TrimPrefix(kv.Key, "e/")
		bar := strings.IndexByte(rest, '|')
		if bar < 0 {
			continue
		}
		n, _ := strconv.ParseInt(rest[:bar], 10, 64)
		if time.Unix(0, n).After(now) {
			return false, nil
		}
		token := rest[bar+1:]
		rec, err := lookupToken(ctx, tx, token)
		if err != nil {
			return false, err
		}
		if rec == nil {
			rec = &tokenRecord{Expires: time.Unix(0, n)}
		}
		if err := dropUnconfirmed(ctx, tx, rec, now); err != nil {
			return false, err
		}
		if err := dropToken(ctx, tx, token, rec); err != nil {
			return false, err
		}
		if err := tx.Delete(ctx, tokenBucket, kv.Key); err != nil {
			return false, fmt.Errorf("notify: delete token: %w", err)
		}
	}
	return len(kvs) == 100, nil
}

// dropUnconfirmed deletes the subscription a confirmation token was for if it is still
// pending confirmation 48 hours after it was made: "Amazon SNS automatically deletes
// unconfirmed subscriptions after 48 hours" (no CloudTrail event, as in AWS). The
// subscription's first token expires exactly then, so the token sweep finds it.
func dropUnconfirmed(ctx context.Context, tx store.Tx, rec *tokenRecord, now time.Time) error {
	if rec.Restore != nil || rec.SubscriptionArn == "" {
		return nil
	}
	sub, err := getSubscription(ctx, tx, rec.SubscriptionArn)
	if err != nil || sub == nil || sub.Confirmed || now.Before(sub.Created.Add(unconfirmedLifetime)) {
		return err
	}
	return deleteSubscription(ctx, tx, sub)
}

// unconfirmedLifetime is how long a subscription may stay pending confirmation.
const unconfirmedLifetime = 48 * time.Hour

// clearTokens deletes every token of a subscription (it was confirmed, or deleted).
func clearTokens(ctx context.Context, tx store.Tx, subARN string) error {
	prefix := "s/" + subARN + "|"
	for {
		kvs, err := tx.List(ctx, tokenBucket, prefix, "", 100)
		if err != nil {
			return fmt.Errorf("notify: list tokens of %s: %w", subARN, err)
		}
		for _, kv := range kvs {
			token := strings.TrimPrefix(kv.Key, prefix)
			rec, err := lookupToken(ctx, tx, token)
			if err != nil {
				return err
			}
			if rec == nil {
				rec = &tokenRecord{SubscriptionArn: subARN}
			}
			rec.SubscriptionArn = subARN
			if err := dropToken(ctx, tx, token, rec); err != nil {
				return err
			}
		}
		if len(kvs) < 100 {
			return nil
		}
	}
}
