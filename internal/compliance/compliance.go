// Package compliance is AWS Config's rules: managed rules, custom policy rules in Guard
// (package compliance/guard), custom rules fed by PutEvaluations, evaluations on
// configuration changes and periodically, compliance queries, conformance packs and
// remediation through SSM Automation.
//
// State lives in the store's key-value space: rules (bucket cfg.rule), their evaluation
// status (cfg.rulestatus), the latest result of every rule per resource (cfg.result) with
// an index per rule (cfg.eval) and recent history (see evalstore.go),
// remediation configurations, exceptions and executions, and conformance packs.
// Evaluations run in the stream consumer (configuration items from the recorder, and
// KindEvaluate requests that PutConfigRule and StartConfigRulesEvaluation append) and in
// Run (periodic rules, remediation polling).
package compliance

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/store"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Store is where consumers and Run read and write (handlers use the call's transaction).
	Store store.Store
	// Recorder holds the configuration items rules evaluate.
	Recorder *recorder.Service
	// StartAutomation starts an SSM Automation execution in tx (a remediation) as the
	// Config service and returns its id.
	StartAutomation func(ctx context.Context, tx store.Tx, account, region, document, version string, params map[string][]string) (string, error)
	// AutomationStatus reports an execution's status (Pending, InProgress, Success, Failed,
	// TimedOut, Cancelled...) and failure message, for remediation status and retries.
	AutomationStatus func(ctx context.Context, tx store.ReadTx, account, region, executionID string) (status, message string, err error)
	// RootAccessKeys returns the ids of the active access keys of an account's root user
	// (IAM_ROOT_ACCESS_KEY_CHECK). Without it, rules that need it record no result.
	RootAccessKeys func(ctx context.Context, account string) ([]string, error)
	// Items overrides Recorder.CurrentItems (tests).
	Items func(ctx context.Context, tx store.ReadTx, account, region string, types []string) ([]*recorder.Item, error)
	// Notify overrides Recorder.Notify (tests).
	Notify func(ctx context.Context, tx store.Tx, account, region, messageType string, notification any) error
	// Tick is how often Run looks for due periodic rules and running remediations
	// (default 10s).
	Tick time.Duration
}

// Service implements config.API: rules and remediation here, the recorder in the
// embedded recorder service.
type Service struct {
	*recorder.Service
	opts Options

	mu    sync.Mutex
	index map[string]*ruleIndex // account|region -> compiled rules, by generation

	// cis wrap the current items that full evaluations read (the recorder shares unchanged
	// items between calls), so that each item's configuration is decoded once, not once per
	// rule. They are used inside store transactions only, which the store runs one at a time.
	cisMu sync.Mutex
	cis   map[*recorder.Item]*CI
	// budget is the consumer's time per transaction (txBudget; tests make it small).
	budget time.Duration
	// converted is set once stored results of an earlier layout are converted.
	converted atomic.Bool
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
	if opts.Items == nil {
		opts.Items = opts.Recorder.CurrentItems
	}
	if opts.Notify == nil {
		opts.Notify = opts.Recorder.Notify
	}
	if opts.Tick <= 0 {
		opts.Tick = 10 * time.Second
	}
	return &Service{Service: opts.Recorder, opts: opts, index: map[string]*ruleIndex{}, budget: txBudget}
}

// KV buckets.
const (
	bucketRule       = "cfg.rule"       // account|region|name -> storedRule
	bucketRuleStatus = "cfg.rulestatus" // account|region|name -> ruleStatus
	bucketRuleGen    = "cfg.rulegen"    // account|region -> generation counter
	bucketEval       = "cfg.eval"       // account|region|ruleID|type|id -> compliance type (evalstore.go)
	bucketRemedy     = "cfg.remedy"     // account|region|rule -> remediation configuration
	bucketException  = "cfg.remexc"     // account|region|rule|type|id -> exception
	bucketExecution  = "cfg.remexec"    // account|region|rule|type|id -> execution
	bucketPack       = "cfg.pack"       // account|region|name -> conformance pack
)

func key(parts ...string) string { return strings.Join(parts, "|") }

// splitKey splits a key in at most n parts (the last keeps any separators of its own).
func splitKey(k string, n int) []string { return strings.SplitN(k, "|", n) }

func errf(code string, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ptr[T any](v T) *T { return &v }

func (s *Service) log() *slog.Logger { return s.opts.Logger }
