// Package alarm is CloudWatch alarms: metric and composite alarms, their evaluation on the
// injected clock, state history, and actions to SNS on each transition.
package alarm

import (
	"context"
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Metrics holds the datapoints alarms watch.
	Metrics *metric.Service
	// Publish sends an alarm notification to an SNS topic in tx (notify's PublishMessage).
	Publish func(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error)
}

// Service implements cloudwatch.API: alarms here, metrics in the embedded metric service.
type Service struct {
	*metric.Service
	opts Options
}

// New returns the CloudWatch service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metric.New(metric.Options{Clock: opts.Clock, Logger: opts.Logger})
	}
	return &Service{Service: opts.Metrics, opts: opts}
}
