// Package compliance is AWS Config's rules: managed rules, custom policy rules in Guard
// (package compliance/guard), custom rules fed by PutEvaluations, evaluations on
// configuration changes and periodically, compliance queries, conformance packs and
// remediation through SSM Automation.
package compliance

import (
	"context"
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/store"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Recorder holds the configuration items rules evaluate.
	Recorder *recorder.Service
	// StartAutomation starts an SSM Automation execution in tx (a remediation) as the
	// Config service and returns its id.
	StartAutomation func(ctx context.Context, tx store.Tx, account, region, document, version string, params map[string][]string) (string, error)
	// AutomationStatus reports an execution's status (Pending, InProgress, Success, Failed,
	// TimedOut, Cancelled...) and failure message, for remediation status and retries.
	AutomationStatus func(ctx context.Context, tx store.ReadTx, account, region, executionID string) (status, message string, err error)
}

// Service implements config.API: rules and remediation here, the recorder in the
// embedded recorder service.
type Service struct {
	*recorder.Service
	opts Options
}

// New returns the AWS Config service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Recorder == nil {
		opts.Recorder = recorder.New(recorder.Options{Clock: opts.Clock, Logger: opts.Logger})
	}
	return &Service{Service: opts.Recorder, opts: opts}
}
