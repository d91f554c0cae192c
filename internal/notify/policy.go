package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// retryPolicy is an HTTP/S delivery policy's healthyRetryPolicy (delays in seconds).
type retryPolicy struct {
	MinDelayTarget     int    `json:"minDelayTarget"`
	MaxDelayTarget     int    `json:"maxDelayTarget"`
	NumRetries         int    `json:"numRetries"`
	NumMaxDelayRetries int    `json:"numMaxDelayRetries"`
	NumNoDelayRetries  int    `json:"numNoDelayRetries"`
	NumMinDelayRetries int    `json:"numMinDelayRetries"`
	BackoffFunction    string `json:"backoffFunction"`
}

// defaultHTTPRetry is AWS's default healthy retry policy for HTTP/S: three retries, 20 s
// apart.
var defaultHTTPRetry = retryPolicy{MinDelayTarget: 20, MaxDelayTarget: 20, NumRetries: 3, BackoffFunction: "linear"}

// mailRetry is AWS's fixed policy for SMTP: 2 retries 10 s apart, 10 with exponential
// backoff from 10 s to 600 s, then 38 retries 600 s apart (50 attempts over about 6 hours).
var mailRetry = retryPolicy{MinDelayTarget: 10, MaxDelayTarget: 600, NumRetries: 50, NumMinDelayRetries: 2,
	NumMaxDelayRetries: 38, BackoffFunction: "exponential"}

type requestPolicy struct {
	HeaderContentType string `json:"headerContentType"`
}

// topicHTTPPolicy is the "http" member of a topic's DeliveryPolicy.
type topicHTTPPolicy struct {
	DefaultHealthyRetryPolicy    *retryPolicy    `json:"defaultHealthyRetryPolicy,omitempty"`
	DisableSubscriptionOverrides bool            `json:"disableSubscriptionOverrides"`
	DefaultThrottlePolicy        json.RawMessage `json:"defaultThrottlePolicy,omitempty"`
	DefaultRequestPolicy         *requestPolicy  `json:"defaultRequestPolicy,omitempty"`
}

// subscriptionPolicy is a subscription's DeliveryPolicy.
type subscriptionPolicy struct {
	HealthyRetryPolicy *retryPolicy    `json:"healthyRetryPolicy,omitempty"`
	SicklyRetryPolicy  json.RawMessage `json:"sicklyRetryPolicy"`
	ThrottlePolicy     json.RawMessage `json:"throttlePolicy"`
	RequestPolicy      *requestPolicy  `json:"requestPolicy,omitempty"`
	Guaranteed         bool            `json:"guaranteed"`
}

func (p *retryPolicy) check() error {
	switch {
	case p.NumRetries < 0 || p.NumRetries > 100:
		return errors.New("numRetries must be between 0 and 100")
	case p.MinDelayTarget < 1 || p.MaxDelayTarget < p.MinDelayTarget:
		return errors.New("minDelayTarget must be at least 1 and at most maxDelayTarget")
	case p.MaxDelayTarget > 3600:
		return errors.New("maxDelayTarget must be at most 3600")
	case p.NumNoDelayRetries < 0 || p.NumMinDelayRetries < 0 || p.NumMaxDelayRetries < 0 ||
		p.NumNoDelayRetries+p.NumMinDelayRetries+p.NumMaxDelayRetries > p.NumRetries:
		return errors.New("numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries")
	}
	switch p.BackoffFunction {
	case "", "linear", "arithmetic", "geometric", "exponential":
	default:
		return fmt.Errorf("backoffFunction %q is not one of arithmetic, exponential, geometric, linear", p.BackoffFunction)
	}
	return nil
}

// parseDeliveryPolicy parses and checks a topic's (topic true) or a subscription's
// DeliveryPolicy.
func parseDeliveryPolicy(raw string, topic bool) (any, error) {
	if topic {
		var p struct {
			HTTP *topicHTTPPolicy `json:"http"`
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		if p.HTTP != nil && p.HTTP.DefaultHealthyRetryPolicy != nil {
			if err := p.HTTP.DefaultHealthyRetryPolicy.check(); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	var p subscriptionPolicy
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if p.HealthyRetryPolicy != nil {
		if err := p.HealthyRetryPolicy.check(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func fillRetry(p *retryPolicy) retryPolicy {
	if p == nil {
		return defaultHTTPRetry
	}
	r := *p
	if r.BackoffFunction == "" {
		r.BackoffFunction = "linear"
	}
	return r
}

func topicHTTP(raw string) topicHTTPPolicy {
	var p struct {
		HTTP *topicHTTPPolicy `json:"http"`
	}
	json.Unmarshal([]byte(raw), &p)
	if p.HTTP == nil {
		return topicHTTPPolicy{}
	}
	return *p.HTTP
}

// httpPolicy is the retry policy and content type of an http/https subscription, from the
// topic's DeliveryPolicy and the subscription's own (unless the topic disables overrides).
func httpPolicy(topicPolicy, subPolicy string) (retryPolicy, string) {
	tp := topicHTTP(topicPolicy)
	retry, ctype := fillRetry(tp.DefaultHealthyRetryPolicy), "text/plain; charset=UTF-8"
	if tp.DefaultRequestPolicy != nil && tp.DefaultRequestPolicy.HeaderContentType != "" {
		ctype = tp.DefaultRequestPolicy.HeaderContentType
	}
	if subPolicy != "" && !tp.DisableSubscriptionOverrides {
		var sp subscriptionPolicy
		json.Unmarshal([]byte(subPolicy), &sp)
		if sp.HealthyRetryPolicy != nil {
			retry = fillRetry(sp.HealthyRetryPolicy)
		}
		if sp.RequestPolicy != nil && sp.RequestPolicy.HeaderContentType != "" {
			ctype = sp.RequestPolicy.HeaderContentType
		}
	}
	return retry, ctype
}

func marshalNoEscape(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// effectiveTopicDeliveryPolicy is GetTopicAttributes' EffectiveDeliveryPolicy.
func effectiveTopicDeliveryPolicy(raw string) string {
	tp := topicHTTP(raw)
	r := fillRetry(tp.DefaultHealthyRetryPolicy)
	tp.DefaultHealthyRetryPolicy = &r
	if tp.DefaultRequestPolicy == nil || tp.DefaultRequestPolicy.HeaderContentType == "" {
		tp.DefaultRequestPolicy = &requestPolicy{HeaderContentType: "text/plain; charset=UTF-8"}
	}
	return marshalNoEscape(map[string]any{"http": tp})
}

// effectiveSubscriptionDeliveryPolicy is GetSubscriptionAttributes' EffectiveDeliveryPolicy.
func effectiveSubscriptionDeliveryPolicy(topicPolicy, subPolicy string) string {
	r, ctype := httpPolicy(topicPolicy, subPolicy)
	return marshalNoEscape(subscriptionPolicy{HealthyRetryPolicy: &r, SicklyRetryPolicy: json.RawMessage("null"),
		ThrottlePolicy: json.RawMessage("null"), RequestPolicy: &requestPolicy{HeaderContentType: ctype}})
}

// delay returns the wait before retry n (1-based), and false when the policy allows no
// retry n.
func (p retryPolicy) delay(n int) (time.Duration, bool) {
	if n > p.NumRetries {
		return 0, false
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	minD, maxD := float64(p.MinDelayTarget), float64(p.MaxDelayTarget)
	backoff := p.NumRetries - p.NumNoDelayRetries - p.NumMinDelayRetries - p.NumMaxDelayRetries
	switch {
	case n <= p.NumNoDelayRetries:
		return 0, true
	case n <= p.NumNoDelayRetries+p.NumMinDelayRetries:
		return sec(minD), true
	case n <= p.NumNoDelayRetries+p.NumMinDelayRetries+backoff:
		i := float64(n - p.NumNoDelayRetries - p.NumMinDelayRetries)
		frac := i / float64(backoff)
		switch p.BackoffFunction {
		case "geometric", "exponential":
			return sec(minD * math.Pow(maxD/minD, frac)), true
		default:
			return sec(minD + (maxD-minD)*frac), true
		}
	}
	return sec(maxD), true
}
