// Package runbook is SSM Automation: documents (schema 0.3, YAML or JSON, versions) and
// automation executions whose steps call bannin's APIs through the gateway as the
// execution's role.
package runbook

import (
	"context"
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/ssm"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Invoke calls a bannin API as caller (aws:executeAwsApi and the property steps). params
	// and the result are JSON-like maps keyed by the API's member names. It must not be
	// called inside a store transaction.
	Invoke func(ctx context.Context, caller call.Principal, region, service, operation string, params map[string]any) (map[string]any, error)
	// Store holds executions; Run drives them through it, one transaction per step.
	Store store.Store
	// Poll is how often Run looks for executions whose wait is over (default 500ms): the
	// clock may be a test's, which moves without waking anyone.
	Poll time.Duration
	// WaitInterval is the clock time between the polls of aws:waitForAwsResourceProperty
	// (default 5s).
	WaitInterval time.Duration
}

// Service implements ssm.API.
type Service struct {
	ssm.Unimplemented
	opts Options
	wake chan struct{}
}

// New returns the SSM service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.WaitInterval <= 0 {
		opts.WaitInterval = 5 * time.Second
	}
	return &Service{opts: opts, wake: make(chan struct{}, 1)}
}

// StartRequest starts an automation from inside bannin (a Config remediation, an
// EventBridge target).
type StartRequest struct {
	Account, Region string
	DocumentName    string
	DocumentVersion string // "" = the default version
	Parameters      map[string][]string
	// Caller is who starts it (recorded as the execution's ExecutedBy).
	Caller call.Principal
}
