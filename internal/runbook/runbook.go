// Package runbook is SSM Automation: documents (schema 0.3, YAML or JSON, versions) and
// automation executions whose steps call bannin's APIs through the gateway as the
// execution's role.
package runbook

import (
	"context"
	"log/slog"
	"time"

	"github.com/bannin/bannin/internal/awserr"
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
}

// Service implements ssm.API.
type Service struct {
	ssm.Unimplemented
	opts Options
}

// New returns the SSM service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts}
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

// StartAutomation starts an execution in tx and returns its id; the steps run after tx
// commits.
func (s *Service) StartAutomation(ctx context.Context, tx store.Tx, r StartRequest) (string, error) {
	return "", awserr.NotImplemented("SSM", "StartAutomationExecution")
}

// AutomationStatus returns an execution's AutomationExecutionStatus and, when it failed,
// its failure message.
func (s *Service) AutomationStatus(ctx context.Context, tx store.ReadTx, account, region, executionID string) (status, message string, err error) {
	return "", "", awserr.NotImplemented("SSM", "GetAutomationExecution")
}
