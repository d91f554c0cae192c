package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// tokenBucket holds confirmation tokens, out of the stored subscription so that they never
// reach its configuration items (AWS Config) or anything else that shows a resource. Keys:
// "t/" + token holds a tokenRecord; "s/" + subscriptionARN + "|" + token indexes a
// subscription's tokens, so that confirming or deleting it clears them all.
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
	return nil
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
	if err := tx.Delete(ctx, tokenBucket, "t/"+token); err != nil {
		return fmt.Errorf("notify: delete token: %w", err)
	}
	if err := tx.Delete(ctx, tokenBucket, "s/"+rec.SubscriptionArn+"|"+token); err != nil {
		return fmt.Errorf("notify: delete token: %w", err)
	}
	return nil
}

// clearTokens deletes every token of a subscription (it was confirmed, or deleted).
func clearTokens(ctx context.Context, tx store.Tx, subARN string) error {
	prefix := "s/" + subARN + "|"
	for {
		kvs, err := tx.List(ctx, tokenBucket, prefix, "", 100)
		if err != nil {
			return fmt.Errorf("notify: list tokens of %s: %w", subARN, err)
		}
		for _, kv := range kvs {
			if err := tx.Delete(ctx, tokenBucket, "t/"+strings.TrimPrefix(kv.Key, prefix)); err != nil {
				return fmt.Errorf("notify: delete token of %s: %w", subARN, err)
			}
			if err := tx.Delete(ctx, tokenBucket, kv.Key); err != nil {
				return fmt.Errorf("notify: delete token of %s: %w", subARN, err)
			}
		}
		if len(kvs) < 100 {
			return nil
		}
	}
}
