// Package alarm is CloudWatch alarms: metric and composite alarms, their evaluation on the
// injected clock, state history, and actions to SNS on each transition.
//
// Alarms are store resources (type AWS::CloudWatch::Alarm, id = name), so their
// configuration has a history and tags like every other resource; metric and composite
// alarms share the name space, as in CloudWatch. What changes on evaluation lives in the
// key-value space:
//
//	alarm.state    <account>/<region>/<name>                      -> State
//	alarm.history  <account>/<region>/<name>\x00<16-hex unix ns><4-hex n> -> historyItem
//
// Evaluation runs when datapoints of a watched metric commit (a consumer of
// metric.KindData), at each period boundary (Run ticks every second), and on demand
// (Evaluate, for tests on a fake clock).
//
// Band alarms (ThresholdMetricId naming an ANOMALY_DETECTION_BAND query of Metrics, with
// LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold or
// GreaterThanUpperThreshold) compare each datapoint with the band at its time; putting one
// creates the metric's anomaly detector, and evaluating one recreates it when it was
// deleted. Composite alarms with an ActionsSuppressor hold their actions back as
// suppress.go describes; the deadlines are part of the stored State, and Run's tick ends
// them. An alarm a composite names in its rule or as its ActionsSuppressor cannot be
// deleted.
package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
)

// ResourceType is the CloudFormation type alarms are stored and recorded under.
const ResourceType = "AWS::CloudWatch::Alarm"

// Key-value buckets.
const (
	bucketState   = "alarm.state"
	bucketHistory = "alarm.history"
)

// Alarm types (AlarmType).
const (
	TypeMetric    = "MetricAlarm"
	TypeComposite = "CompositeAlarm"
)

// Alarm states (StateValue).
const (
	StateOK           = "OK"
	StateAlarm        = "ALARM"
	StateInsufficient = "INSUFFICIENT_DATA"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Metrics holds the datapoints alarms watch.
	Metrics *metric.Service
	// Publish sends an alarm notification to an SNS topic in tx (notify's PublishMessage).
	Publish func(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error)
	// Store is where Run and the metric data consumer read alarms and metrics and commit
	// transitions (they run outside any API call).
	Store store.Store
}

// Service implements cloudwatch.API: alarms here, metrics in the embedded metric service.
type Service struct {
	*metric.Service
	opts Options

	mu    sync.Mutex // serialises evaluations
	dueMu sync.Mutex
	// due remembers, per alarm key, the period start of its last periodic evaluation.
	due map[string]int64
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
		opts.Metrics = metric.New(metric.Options{Clock: opts.Clock, Logger: opts.Logger, Store: opts.Store})
	}
	return &Service{Service: opts.Metrics, opts: opts, due: map[string]int64{}}
}

// Alarm is an alarm's stored configuration (metric or composite).
type Alarm struct {
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	Type          string    `json:"alarmType"`
	Name          string    `json:"alarmName"`
	ARN           string    `json:"alarmArn"`
	Description   string    `json:"alarmDescription,omitempty"`
	ConfigUpdated time.Time `json:"alarmConfigurationUpdatedTimestamp"`

	ActionsEnabled          bool     `json:"actionsEnabled"`
	AlarmActions            []string `json:"alarmActions"`
	OKActions               []string `json:"okActions"`
	InsufficientDataActions []string `json:"insufficientDataActions"`

	// Metric alarms.
	Namespace          string                       `json:"namespace,omitempty"`
	MetricName         string                       `json:"metricName,omitempty"`
	Dimensions         map[string]string            `json:"dimensions,omitempty"`
	Statistic          string                       `json:"statistic,omitempty"`
	ExtendedStatistic  string                       `json:"extendedStatistic,omitempty"`
	Period             int32                        `json:"period,omitempty"`
	Unit               string                       `json:"unit,omitempty"`
	EvaluationPeriods  int32                        `json:"evaluationPeriods,omitempty"`
	DatapointsToAlarm  int32                        `json:"datapointsToAlarm,omitempty"`
	Threshold          *float64                     `json:"threshold,omitempty"`
	ComparisonOperator string                       `json:"comparisonOperator,omitempty"`
	TreatMissingData   string                       `json:"treatMissingData,omitempty"`
	EvaluateLowSample  string                       `json:"evaluateLowSampleCountPercentile,omitempty"`
	Metrics            []cloudwatch.MetricDataQuery `json:"metrics,omitempty"`
	// ThresholdMetricID names the ANOMALY_DETECTION_BAND query of Metrics that a band
	// operator compares with.
	ThresholdMetricID string `json:"thresholdMetricId,omitempty"`

	// Composite alarms.
	AlarmRule                        string `json:"alarmRule,omitempty"`
	ActionsSuppressor                string `json:"actionsSuppressor,omitempty"`
	ActionsSuppressorWaitPeriod      int32  `json:"actionsSuppressorWaitPeriod,omitempty"`
	ActionsSuppressorExtensionPeriod int32  `json:"actionsSuppressorExtensionPeriod,omitempty"`
}

// State is an alarm's current state.
type State struct {
	Value        string    `json:"stateValue"`
	Reason       string    `json:"stateReason"`
	ReasonData   string    `json:"stateReasonData,omitempty"`
	Updated      time.Time `json:"stateUpdatedTimestamp"`
	Transitioned time.Time `json:"stateTransitionedTimestamp"`

	// Actions suppression of a composite alarm with an ActionsSuppressor. While the actions
	// of the last transition wait, SuppressedBy says why (WaitPeriod, ExtensionPeriod or
	// Alarm), PendingFrom is the state the transition left and SuppressedUntil the deadline
	// of a WaitPeriod (the service's Run loop performs the actions when it passes).
	SuppressedBy     string    `json:"actionsSuppressedBy,omitempty"`
	SuppressedReason string    `json:"actionsSuppressedReason,omitempty"`
	SuppressedUntil  time.Time `json:"actionsSuppressedUntil,omitzero"`
	PendingFrom      string    `json:"pendingFrom,omitempty"`
	// SuppressorInAlarm is the suppressor's state as last seen; ExtensionUntil is when the
	// ExtensionPeriod that began when it left ALARM ends.
	SuppressorInAlarm bool      `json:"suppressorInAlarm,omitempty"`
	ExtensionUntil    time.Time `json:"extensionUntil,omitzero"`
}

// ARN is an alarm's ARN.
func ARN(region, account, name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
}

func stateKey(account, region, name string) string { return account + "/" + region + "/" + name }

// periodDur is the alarm's evaluation period (of its metric or of its Metrics' returned
// query).
func (a *Alarm) periodDur() time.Duration {
	if a.Period > 0 {
		return time.Duration(a.Period) * time.Second
	}
	for _, q := range a.Metrics {
		if aws.ToBool(q.ReturnData) || q.ReturnData == nil {
			if q.MetricStat != nil {
				return time.Duration(aws.ToInt32(q.MetricStat.Period)) * time.Second
			}
			if q.Period != nil {
				return time.Duration(*q.Period) * time.Second
			}
		}
	}
	for _, q := range a.Metrics {
		if q.MetricStat != nil {
			return time.Duration(aws.ToInt32(q.MetricStat.Period)) * time.Second
		}
	}
	return time.Minute
}

// watches reports whether the alarm reads metric m.
func (a *Alarm) watches(m metric.MetricID) bool {
	same := func(ns, name string, dims map[string]string) bool {
		if ns != m.Namespace || name != m.MetricName || len(dims) != len(m.Dimensions) {
			return false
		}
		for k, v := range dims {
			if m.Dimensions[k] != v {
				return false
			}
		}
		return true
	}
	if a.MetricName != "" {
		return same(a.Namespace, a.MetricName, a.Dimensions)
	}
	for _, q := range a.Metrics {
		if ms := q.MetricStat; ms != nil && ms.Metric != nil &&
			same(aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName), metric.Dims(ms.Metric.Dimensions)) {
			return true
		}
	}
	return false
}

// getAlarm reads one alarm and its state; (nil, nil, nil) when absent.
func getAlarm(ctx context.Context, tx store.ReadTx, account, region, name string) (*Alarm, *store.Resource, error) {
	r, err := tx.GetResource(ctx, account, region, ResourceType, name)
	if err != nil {
		return nil, nil, fmt.Errorf("alarm: get %s: %w", name, err)
	}
	if r == nil {
		return nil, nil, nil
	}
	a, err := decodeAlarm(r)
	return a, r, err
}

func decodeAlarm(r *store.Resource) (*Alarm, error) {
	var a Alarm
	if err := json.Unmarshal(r.Config, &a); err != nil {
		return nil, fmt.Errorf("alarm: decode %s: %w", r.ID, err)
	}
	return &a, nil
}

// saveAlarm writes an alarm's configuration (keeping tags as given).
func saveAlarm(ctx context.Context, tx store.Tx, a *Alarm, tags map[string]string) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("alarm: encode %s: %w", a.Name, err)
	}
	r := &store.Resource{Account: a.Account, Region: a.Region, Type: ResourceType, ID: a.Name, ARN: a.ARN, Name: a.Name,
		Config: b, Tags: tags}
	if err := tx.PutResource(ctx, r); err != nil {
		return fmt.Errorf("alarm: save %s: %w", a.Name, err)
	}
	return nil
}

func getState(ctx context.Context, tx store.ReadTx, account, region, name string) (*State, error) {
	b, err := tx.Get(ctx, bucketState, stateKey(account, region, name))
	if err != nil {
		return nil, fmt.Errorf("alarm: get state %s: %w", name, err)
	}
	return decodeState(name, b)
}

// decodeState decodes a stored state; an absent one is INSUFFICIENT_DATA.
func decodeState(name string, b []byte) (*State, error) {
	if b == nil {
		return &State{Value: StateInsufficient}, nil
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("alarm: decode state %s: %w", name, err)
	}
	return &st, nil
}

func putState(ctx context.Context, tx store.Tx, a *Alarm, st *State) error {
	b, _ := json.Marshal(st)
	if err := tx.Put(ctx, bucketState, stateKey(a.Account, a.Region, a.Name), b); err != nil {
		return fmt.Errorf("alarm: put state %s: %w", a.Name, err)
	}
	return nil
}

// listAlarms returns every live alarm of account and region ("" = all), ordered by name.
func listAlarms(ctx context.Context, tx store.ReadTx, account, region string) ([]*Alarm, error) {
	var out []*Alarm
	after := ""
	for {
		rs, next, err := tx.ListResources(ctx, store.ResourceQuery{Account: account, Region: region, Type: ResourceType, After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("alarm: list: %w", err)
		}
		for _, r := range rs {
			a, err := decodeAlarm(r)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// resolveRef maps a composite rule's reference (name or ARN) to an alarm name in the
// composite's account and region; ok is false for an ARN of another account or region.
func resolveRef(a *Alarm, ref string) (string, bool) {
	if strings.HasPrefix(ref, "arn:") {
		prefix := ARN(a.Region, a.Account, "")
		if !strings.HasPrefix(ref, prefix) {
			return "", false
		}
		return ref[len(prefix):], true
	}
	return ref, true
}
