package bus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/wire/events"
)

// harness is a Service on a real store, called directly, with its stream consumed by hand.
type harness struct {
	t   testing.TB
	st  *sqlite.Store
	svc *Service
	pos int64
}

func newHarness(t testing.TB, opts Options) *harness {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts.Store = st
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &harness{t: t, st: st, svc: New(opts)}
}

// call runs fn as an API call of account 123456789012 in us-east-1.
func (h *harness) call(fn func(ctx context.Context) error) {
	h.t.Helper()
	err := h.st.Update(context.Background(), func(tx store.Tx) error {
		c := &call.Call{Account: "123456789012", Region: "us-east-1", Time: time.Now().UTC(), Tx: tx, EventID: newID()}
		return fn(call.With(context.Background(), c))
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// consume hands the new stream entries to the delivery consumer.
func (h *harness) consume() {
	h.t.Helper()
	for {
		var es []store.Entry
		err := h.st.View(context.Background(), func(tx store.ReadTx) error {
			var err error
			es, err = tx.ReadStream(context.Background(), h.pos, 1000)
			return err
		})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(es) == 0 {
			return
		}
		var sel []store.Entry
		for _, e := range es {
			if e.Kind == KindEvent || e.Kind == store.KindAPICall {
				sel = append(sel, e)
			}
		}
		if err := h.svc.handle(context.Background(), sel); err != nil {
			h.t.Fatal(err)
		}
		h.pos = es[len(es)-1].Seq
	}
}

func (h *harness) putEvent(source, detail string) string {
	var id string
	h.call(func(ctx context.Context) error {
		out, err := h.svc.PutEvents(ctx, &events.PutEventsRequest{Entries: []events.PutEventsRequestEntry{{Source: aws.String(source),
			DetailType: aws.String("test"), Detail: aws.String(detail)}}})
		if err == nil && aws.ToInt32(out.FailedEntryCount) != 0 {
			err = fmt.Errorf("PutEvents failed: %s", aws.ToString(out.Entries[0].ErrorMessage))
		}
		if err == nil {
			id = aws.ToString(out.Entries[0].EventId)
		}
		return err
	})
	return id
}

func (h *harness) rule(name, pattern string, targets ...events.Target) {
	h.call(func(ctx context.Context) error {
		if _, err := h.svc.PutRule(ctx, &events.PutRuleRequest{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
			return err
		}
		_, err := h.svc.PutTargets(ctx, &events.PutTargetsRequest{Rule: aws.String(name), Targets: targets})
		return err
	})
}

type published struct{ topic, message string }

func TestSNSTargetWithFakePublish(t *testing.T) {
	var mu sync.Mutex
	var got []published
	h := newHarness(t, Options{Publish: func(ctx context.Context, tx store.Tx, topic, subject, message string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, published{topic, message})
		return newID(), nil
	}})
	topic := "arn:aws:sns:us-east-1:123456789012:alerts"
	h.rule("orders", `{"source":["my.shop"],"detail":{"total":[{"numeric":[">",100]}]}}`,
		events.Target{Id: aws.String("whole"), Arn: aws.String(topic)},
		events.Target{Id: aws.String("shaped"), Arn: aws.String(topic), InputTransformer: &events.InputTransformer{
			InputPathsMap: map[string]string{"total": "$.detail.total"}, InputTemplate: aws.String(`"Order of <total> on rule <aws.events.rule-name>"`)}})
	small := h.putEvent("my.shop", `{"total": 5}`)
	big := h.putEvent("my.shop", `{"total": 500}`)
	h.consume()
	if len(got) != 2 {
		t.Fatalf("published %d messages; want 2 (the event and its transformed text): %+v", len(got), got)
	}
	if !strings.Contains(got[0].message, big) || strings.Contains(got[0].message, small) || got[0].topic != topic {
		t.Errorf("first message = %+v; want event %s on %s", got[0], big, topic)
	}
	if got[1].message != `"Order of 500 on rule orders"` {
		t.Errorf("transformed message = %s; want \"Order of 500 on rule orders\"", got[1].message)
	}

	// The stream is at-least-once: handling the same entries again publishes nothing new.
	h.pos = 0
	h.consume()
	if len(got) != 2 {
		t.Errorf("after a replay, published %d messages; want still 2", len(got))
	}

	// A changed rule is seen by the next event (the cached matcher is rebuilt).
	h.rule("orders", `{"source":["my.shop"],"detail":{"total":[{"numeric":["<",10]}]}}`)
	h.putEvent("my.shop", `{"total": 500}`)
	h.putEvent("my.shop", `{"total": 5}`)
	h.consume()
	if len(got) != 4 || !strings.Contains(got[2].message, `"total":5`) {
		t.Errorf("after PutRule, published %+v; want the total 5 event twice more", got[2:])
	}
}

func TestFailedPublishIsRetriedFromRun(t *testing.T) {
	now := time.Now().UTC()
	var mu sync.Mutex
	fails, calls := 1, 0
	h := newHarness(t, Options{Clock: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Publish: func(ctx context.Context, tx store.Tx, topic, subject, message string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls <= fails {
				return "", fmt.Errorf("topic unavailable")
			}
			return "m", nil
		}})
	h.rule("r", `{"source":["a"]}`, events.Target{Id: aws.String("t"), Arn: aws.String("arn:aws:sns:us-east-1:123456789012:x")})
	h.putEvent("a", `{}`)
	h.consume()
	if calls != 1 {
		t.Fatalf("Publish called %d times; want 1", calls)
	}
	if err := h.svc.retryDue(context.Background(), now); err != nil || calls != 1 {
		t.Fatalf("retryDue before the backoff: %d calls, %v; want 1", calls, err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if err := h.svc.retryDue(context.Background(), now); err != nil || calls != 2 {
		t.Fatalf("retryDue after the backoff: %d calls, %v; want 2", calls, err)
	}
	if err := h.svc.retryDue(context.Background(), now.Add(time.Hour)); err != nil || calls != 2 {
		t.Errorf("retryDue after success: %d calls, %v; want still 2", calls, err)
	}
}

// BenchmarkDelivery matches CloudTrail-shaped events against 1,000 rules through the
// stream consumer and delivers the matches to a fake SNS topic.
func BenchmarkDelivery(b *testing.B) {
	var n int
	h := newHarness(b, Options{Publish: func(ctx context.Context, tx store.Tx, topic, subject, message string) (string, error) {
		n++
		return "m", nil
	}})
	h.call(func(ctx context.Context) error {
		for i := range 1000 {
			p := fmt.Sprintf(`{"source":["my.app"],"detail":{"eventName":["Op%d"],"requestParameters":{"bucketName":[{"prefix":"b%d-"}]}}}`, i, i%10)
			if _, err := h.svc.PutRule(ctx, &events.PutRuleRequest{Name: aws.String(fmt.Sprintf("r%d", i)), EventPattern: aws.String(p)}); err != nil {
				return err
			}
			if _, err := h.svc.PutTargets(ctx, &events.PutTargetsRequest{Rule: aws.String(fmt.Sprintf("r%d", i)),
				Targets: []events.Target{{Id: aws.String("t"), Arn: aws.String("arn:aws:sns:us-east-1:123456789012:x")}}}); err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.putEvent("my.app", fmt.Sprintf(`{"eventName":"Op%d","requestParameters":{"bucketName":"b%d-logs"}}`, i%1000, i%10))
		h.consume()
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("delivered %d of %d events", n, b.N)
	}
}
