package bus

import (
	"context"
	"sync"
	"time"
)

// defaultInvocationRate is EventBridge's default InvocationRateLimitPerSecond.
const defaultInvocationRate = 300

// rateLimiter spaces the calls to each API destination at least 1/rate apart, so that a
// destination never gets more than its InvocationRateLimitPerSecond: a call over the
// rate waits for its turn instead of being dropped. It keeps real time, not the injected
// clock, because the rate protects the endpoint, which lives in real time.
type rateLimiter struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu sync.Mutex
	// next is, by destination ARN, the earliest time of its next call.
	next map[string]time.Time
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{now: time.Now, sleep: sleepCtx, next: map[string]time.Time{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wait takes the next turn of destination key at perSecond calls a second (the default
// rate when not positive) and returns when it has come, or ctx's error if ctx ends first.
func (l *rateLimiter) wait(ctx context.Context, key string, perSecond int32) error {
	if perSecond <= 0 {
		perSecond = defaultInvocationRate
	}
	interval := time.Second / time.Duration(perSecond)
	l.mu.Lock()
	now := l.now()
	if len(l.next) > 1000 {
		for k, t := range l.next {
			if t.Before(now) {
				delete(l.next, k)
			}
		}
	}
	slot := l.next[key]
	if slot.Before(now) {
		slot = now
	}
	l.next[key] = slot.Add(interval)
	l.mu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}
