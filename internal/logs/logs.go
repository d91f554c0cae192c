// Package logs is CloudWatch Logs: log groups and streams, log events, filter patterns
// (package logs/filterpattern) and metric filters.
package logs

import (
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// Service implements the CloudWatch Logs API.
type Service struct {
	wirelogs.Unimplemented
	opts Options
}

// Options configure the service.
type Options struct{}

// New returns the CloudWatch Logs service.
func New(opts Options) *Service { return &Service{opts: opts} }
