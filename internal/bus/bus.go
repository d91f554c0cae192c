// Package bus is EventBridge: event buses, rules and their targets, and the event pattern
// language (package bus/pattern). Buses, rules, targets and their tags are stored as store
// resources (BusType, RuleType); Rules gives event delivery the enabled rules of a bus.
// PutEvents (and PutEvent, for bannin's own events) put events on buses as stream entries;
// the delivery consumer matches them, and CloudTrail's API call records, against the
// rules of their bus and delivers them to the rules' targets (queueing API destination
// calls, which Run makes), retrying failures from Run, which also fires scheduled rules.
package bus

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/trail"
	"github.com/bannin/bannin/internal/wire/events"
)

// Options configure the service and what its targets reach.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Publish delivers to an SNS topic target in tx (notify's PublishMessage).
	Publish func(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error)
	// AppendLogs writes events to a CloudWatch Logs group target in tx.
	AppendLogs func(ctx context.Context, tx store.Tx, account, region, group, stream string, messages []string, at time.Time) error
	// StartAutomation starts an SSM Automation target in tx and returns the execution id.
	StartAutomation func(ctx context.Context, tx store.Tx, account, region, document, version string, params map[string][]string) (string, error)
	// HTTPClient calls API destinations (default http.DefaultClient); each call is
	// abandoned after 5 seconds whatever the client's own timeout.
	HTTPClient *http.Client
	// Store is where the delivery consumer and Run read rules and keep deliveries and
	// schedules; without it the service has no background work.
	Store store.Store
	// Tick is how often Run looks at the clock for due schedules and retries (default 1s).
	Tick time.Duration
	// TrailLogs tells whether a trail logging at the call's time (at, the stream entry's
	// exact time) logs a CloudTrail record: data events reach EventBridge only then
	// (default trail.LogsEvent over Store).
	TrailLogs func(ctx context.Context, record []byte, at time.Time) (bool, error)
}

// Service implements events.API.
type Service struct {
	events.Unimplemented
	opts Options

	mu     sync.Mutex
	buses  map[string]*compiled  // by busKey
	tokens map[string]oauthToken // OAuth access tokens by tokenKey
	// rate spaces API destination calls by their InvocationRateLimitPerSecond.
	rate *rateLimiter
	// marksIndexed is set once Run has indexed delivered marks older than their index.
	marksIndexed bool
	// wake tells Run's sender that API destination deliveries were queued.
	wake chan struct{}
}

// New returns the EventBridge service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.TrailLogs == nil && opts.Store != nil {
		st := opts.Store
		opts.TrailLogs = func(ctx context.Context, record []byte, at time.Time) (bool, error) {
			return trail.LogsEvent(ctx, st, record, at)
		}
	}
	return &Service{opts: opts, buses: map[string]*compiled{}, tokens: map[string]oauthToken{}, rate: newRateLimiter(),
		wake: make(chan struct{}, 1)}
}

// mandatoryFields are the envelope fields TestEventPattern requires of its event.
var mandatoryFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func invalid(format string, args ...any) error {
	return awserr.New("InvalidEventPatternException", http.StatusBadRequest, format, args...)
}

// TestEventPattern tells whether an event matches an event pattern.
func (s *Service) TestEventPattern(_ context.Context, in *events.TestEventPatternRequest) (*events.TestEventPatternResponse, error) {
	p, err := compilePattern(aws.ToString(in.EventPattern))
	if err != nil {
		return nil, err
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(aws.ToString(in.Event)), &env); err != nil {
		return nil, invalid("Parameter Event is not valid: it is not a JSON object (%v).", err)
	}
	var missing []string
	for _, f := range mandatoryFields {
		if _, ok := env[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("Parameter Event is not valid: it lacks the mandatory field(s) %s.", strings.Join(missing, ", "))
	}
	ok, err := p.Matches([]byte(aws.ToString(in.Event)))
	if err != nil {
		return nil, invalid("Parameter Event is not valid: %v", err)
	}
	return &events.TestEventPatternResponse{Result: aws.Bool(ok)}, nil
}
