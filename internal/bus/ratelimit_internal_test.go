package bus

import (
	"context"
	"testing"
	"time"
)

// The limiter gives each destination its own turns, 1/rate apart, and makes calls over
// the rate wait for theirs.
func TestRateLimiter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	var slept []time.Duration
	l := newRateLimiter()
	l.now = func() time.Time { return now }
	l.sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}
	ctx := context.Background()
	for range 4 {
		if err := l.wait(ctx, "a", 2); err != nil {
			t.Fatalf("wait: %v", err)
		}
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
	if len(slept) != len(want) || slept[0] != want[0] || slept[1] != want[1] || slept[2] != want[2] {
		t.Errorf("waits at 2/s = %v; want %v (the first call goes at once)", slept, want)
	}
	// Another destination has its own turns.
	slept = nil
	if err := l.wait(ctx, "b", 2); err != nil || len(slept) != 0 {
		t.Errorf("first call to b waited %v (%v); want no wait", slept, err)
	}
	// Once the rate's time has passed, calls go at once again.
	now = start.Add(3 * time.Second)
	slept = nil
	if err := l.wait(ctx, "a", 2); err != nil || len(slept) != 0 {
		t.Errorf("call to a after a pause waited %v (%v); want no wait", slept, err)
	}
	// The default rate applies when none is set.
	slept = nil
	l.wait(ctx, "c", 0)
	l.wait(ctx, "c", 0)
	if len(slept) != 1 || slept[0] != time.Second/defaultInvocationRate {
		t.Errorf("waits at the default rate = %v; want [%v]", slept, time.Second/defaultInvocationRate)
	}
	// A cancelled wait returns the context's error.
	real := newRateLimiter()
	real.wait(ctx, "d", 1)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := real.wait(cctx, "d", 1); err != context.Canceled {
		t.Errorf("cancelled wait = %v; want context.Canceled", err)
	}
}
