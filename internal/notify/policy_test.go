package notify

import (
	"testing"
	"time"
)

func TestRetryDelays(t *testing.T) {
	cases := []struct {
		name   string
		p      retryPolicy
		delays []time.Duration // for retries 1..len; the next one is refused
	}{
		{"http default", defaultHTTPRetry, []time.Duration{20 * time.Second, 20 * time.Second, 20 * time.Second}},
		{"phases", retryPolicy{MinDelayTarget: 1, MaxDelayTarget: 4, NumRetries: 6, NumNoDelayRetries: 1, NumMinDelayRetries: 1,
			NumMaxDelayRetries: 1, BackoffFunction: "linear"},
			[]time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 4 * time.Second}},
		{"exponential", retryPolicy{MinDelayTarget: 1, MaxDelayTarget: 4, NumRetries: 2, BackoffFunction: "exponential"},
			[]time.Duration{2 * time.Second, 4 * time.Second}},
	}
	for _, c := range cases {
		for i, want := range c.delays {
			if got, ok := c.p.delay(i + 1); !ok || got != want {
				t.Errorf("%s: delay(%d) = %v, %v; want %v, true", c.name, i+1, got, ok, want)
			}
		}
		if _, ok := c.p.delay(len(c.delays) + 1); ok {
			t.Errorf("%s: delay(%d) allowed; want exhausted", c.name, len(c.delays)+1)
		}
	}
	if got, ok := mailRetry.delay(50); !ok || got != 600*time.Second {
		t.Errorf("mail delay(50) = %v, %v; want 10m0s", got, ok)
	}
}
