package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/bannin/bannin/internal/alarm"
	"github.com/bannin/bannin/internal/bus"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/compliance"
	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/lake"
	cwlogs "github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/metric"
	"github.com/bannin/bannin/internal/notify"
	"github.com/bannin/bannin/internal/recorder"
	"github.com/bannin/bannin/internal/runbook"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	"github.com/bannin/bannin/internal/wire/config"
	"github.com/bannin/bannin/internal/wire/ec2"
	"github.com/bannin/bannin/internal/wire/events"
	wireiam "github.com/bannin/bannin/internal/wire/iam"
	"github.com/bannin/bannin/internal/wire/kms"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
	"github.com/bannin/bannin/internal/wire/organizations"
	"github.com/bannin/bannin/internal/wire/s3"
	"github.com/bannin/bannin/internal/wire/sns"
	"github.com/bannin/bannin/internal/wire/ssm"
	"github.com/bannin/bannin/internal/wire/sts"
)

// build makes the services, connects them to each other with function values, and puts the
// gateway in front of them.
func (s *Server) build(cfg Config, keys *iam.Keyring, spool string) {
	log, clock := cfg.Logger, cfg.Clock
	baseURL := cfg.URL
	if baseURL == "" {
		baseURL = "http://" + cfg.Addr
	}
	s.notify = notify.New(notify.Options{Clock: clock, Logger: log, Store: s.Store, SMTPURL: cfg.SMTPURL, BaseURL: baseURL,
		HTTPClient: cfg.HTTPClient, SMTPTLS: cfg.SMTPTLS})
	publish := s.notify.PublishMessage
	s.runbook = runbook.New(runbook.Options{Clock: clock, Logger: log, Invoke: s.Invoke, Store: s.Store})
	startAutomation := func(ctx context.Context, tx store.Tx, account, region, document, version string, params map[string][]string) (string, error) {
		return s.runbook.StartAutomation(ctx, tx, runbook.StartRequest{Account: account, Region: region,
			DocumentName: document, DocumentVersion: version, Parameters: params,
			Caller: call.Principal{Type: "AWSService", Account: account, InvokedBy: "config.amazonaws.com"}})
	}
	s.bus = bus.New(bus.Options{Clock: clock, Logger: log, Publish: publish,
		AppendLogs: func(ctx context.Context, tx store.Tx, account, region, group, stream string, messages []string, at time.Time) error {
			evs := make([]cwlogs.InputEvent, len(messages))
			for i, m := range messages {
				evs[i] = cwlogs.InputEvent{Timestamp: at.UnixMilli(), Message: m}
			}
			_, err := cwlogs.Append(ctx, tx, account, region, group, stream, clock(), evs)
			return err
		},
		StartAutomation: startAutomation, Store: s.Store, HTTPClient: cfg.HTTPClient,
	})
	metrics := metric.New(metric.Options{Clock: clock, Logger: log, Store: s.Store})
	s.cloudwatch = alarm.New(alarm.Options{Clock: clock, Logger: log, Metrics: metrics, Publish: publish, Store: s.Store})
	rec := recorder.New(recorder.Options{Store: s.Store, Clock: clock, Logger: log, Publish: publish, EmitEvent: s.bus.PutEvent,
		PutObject: s.putObject})
	s.config = compliance.New(compliance.Options{Clock: clock, Logger: log, Recorder: rec, Store: s.Store,
		StartAutomation: startAutomation, AutomationStatus: s.runbook.AutomationStatus,
		// The keyring's keys are root keys; it holds the default account's (s.RootKey).
		RootAccessKeys: func(ctx context.Context, account string) ([]string, error) {
			if account != s.RootKey.Account || s.RootKey.AccessKeyID == "" {
				return nil, nil
			}
			if _, active, err := keys.Secret(ctx, s.RootKey.AccessKeyID); err != nil || !active {
				return nil, err
			}
			return []string{s.RootKey.AccessKeyID}, nil
		}})
	s.parts = []any{s.trail, s.objects, s.logs, s.notify, s.bus, s.runbook, metrics, s.cloudwatch, rec, s.config}
	s.gateway = gateway.New(gateway.Options{
		Services: []gateway.Service{
			cloudtrail.Handler{API: s.trail},
			cloudtraildata.Handler{API: lake.NewData(lake.Options{})},
			cloudwatch.Handler{API: s.cloudwatch},
			config.Handler{API: s.config},
			ec2.Handler{API: ec2.Unimplemented{}},
			events.Handler{API: s.bus},
			wireiam.Handler{API: wireiam.Unimplemented{}},
			kms.Handler{API: kms.Unimplemented{}},
			wirelogs.Handler{API: s.logs},
			organizations.Handler{API: organizations.Unimplemented{}},
			s3.Handler{API: s.objects},
			sns.Handler{API: s.notify},
			ssm.Handler{API: s.runbook},
			sts.Handler{API: iam.STS{}},
		},
		Store:        s.Store,
		Scope:        scope,
		Unrouted:     unrouted,
		Authenticate: authenticator(keys, clock),
		Clock:        clock,
		Logger:       log,
		SpoolDir:     spool,
	})
}

// Invoke calls a bannin API as caller, through the gateway, as runbook steps do: params and
// the result are JSON-like maps keyed by the API's member names. It must not be called inside
// a store transaction.
func (s *Server) Invoke(ctx context.Context, caller call.Principal, region, service, operation string, params map[string]any) (map[string]any, error) {
	return s.gateway.Invoke(ctx, gateway.Invocation{Service: service, Operation: operation, Region: region,
		Caller: caller, Params: params})
}

// putObject writes a file to a bucket as the AWS Config service (delivery channel files).
func (s *Server) putObject(ctx context.Context, account, region, bucket, key string, body []byte) error {
	caller := call.Principal{Type: "AWSService", Account: account, InvokedBy: "config.amazonaws.com"}
	_, err := s.gateway.Invoke(ctx, gateway.Invocation{Service: "s3", Operation: "PutObject", Region: region,
		Caller: caller, Params: map[string]any{"Bucket": bucket, "Key": key, "Body": base64.StdEncoding.EncodeToString(body)}})
	return err
}

// Consumers is implemented by services that read the stream.
type consumers interface {
	Consumers() []stream.Consumer
}

// runner is implemented by services with background work of their own (schedules, alarm
// evaluation, delivery retries, sweeps).
type runner interface {
	Run(ctx context.Context) error
}

// Background runs everything the server does besides answering requests: the stream
// consumers of every service, their own loops, and retention purges. It returns when ctx
// is done, once all of it has stopped; the store must stay open until then.
func (s *Server) Background(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cs []stream.Consumer
	var runs []runner
	for _, p := range s.parts {
		if c, ok := p.(consumers); ok {
			cs = append(cs, c.Consumers()...)
		}
		if r, ok := p.(runner); ok {
			runs = append(runs, r)
		}
	}
	sr, err := stream.NewRunner(stream.Options{Store: s.Store, Logger: s.cfg.Logger}, cs...)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(runs)+3)
	spawn := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	spawn(func() error { return sr.Run(ctx) })
	spawn(func() error { return s.purgeLoop(ctx) })
	spawn(func() error { return s.objects.Run(ctx, s.Store, time.Minute, s.cfg.Logger) })
	for _, r := range runs {
		spawn(func() error { return r.Run(ctx) })
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		cancel()
	}
	wg.Wait()
	return first
}
