// Package metric is CloudWatch metrics: datapoints, statistics, GetMetricData and
// ListMetrics, and the datapoints CloudWatch Logs metric filters emit.
//
// Besides the API it offers the rest of bannin PutData (store datapoints in a
// transaction), Query, Statistic and RunQueries (what alarm evaluation reads), KindData
// stream entries (new datapoints, so alarms evaluate as soon as they land) and Consumers
// (metric filters: log events to datapoints).
package metric

import (
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Store is where metric filter datapoints are written by the consumer of log events
	// (stream consumers are handed entries, not the store).
	Store store.Store
}

// Service implements the metric operations of cloudwatch.API.
type Service struct {
	cloudwatch.Unimplemented
	opts Options
}

// New returns the metrics service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts}
}
