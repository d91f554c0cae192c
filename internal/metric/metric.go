// Package metric is CloudWatch metrics: datapoints, statistics, GetMetricData and
// ListMetrics, and the datapoints CloudWatch Logs metric filters emit.
package metric

import (
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
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
