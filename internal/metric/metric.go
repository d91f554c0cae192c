// Package metric is CloudWatch metrics: datapoints, statistics, GetMetricData and
// ListMetrics, and the datapoints CloudWatch Logs metric filters emit.
//
// Besides the API it offers the rest of bannin PutData (store datapoints in a
// transaction), Query, Statistic and RunQueries (what alarm evaluation reads), KindData
// stream entries (new datapoints, so alarms evaluate as soon as they land) and Consumers
// (metric filters: log events to datapoints).
//
// Anomaly detection (PutAnomalyDetector, ANOMALY_DETECTION_BAND) uses a deterministic
// model instead of CloudWatch's machine learning: the band at a period is the mean of the
// metric's values at the same statistic and period over the 14 days before it (per hour of
// day once that history spans 3 days; ExcludedTimeRanges left out) plus and minus k
// population standard deviations, and there is no band below 10 values. anomaly.go says it
// exactly.
package metric

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

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

// keyToken is the NextToken that resumes a listing after the store key key. Keys hold
// NUL separators, which XML (the query protocol) cannot carry, so the token is the key
// in unpadded base64url.
func keyToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// tokenKey is the store key a keyToken NextToken resumes after ("" without a token);
// InvalidNextToken when the token is not one this account and region were given.
func tokenKey(token *string, prefix string) (string, error) {
	t := aws.ToString(token)
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(b), prefix) {
		return "", errInvalidNextToken()
	}
	return string(b), nil
}

// errInvalidNextToken is CloudWatch's answer to a NextToken it did not give.
func errInvalidNextToken() error {
	return &cloudwatch.InvalidNextToken{Message: aws.String("The service couldn't process the token.")}
}
