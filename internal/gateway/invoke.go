package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/treeconv"
	"github.com/bannin/bannin/internal/store"
)

// Invocation is an API call bannin makes on someone's behalf (a runbook step, a
// remediation, a rule target): it goes through the same validation, handler, transaction
// and CloudTrail record as a call over the wire, as Caller.
type Invocation struct {
	// Service is the service's boto3 client name ("cloudtrail", "s3", "logs"), its model
	// name or its signing name ("monitoring").
	Service   string
	Operation string
	Account   string // default Caller.Account
	Region    string
	Caller    call.Principal
	// Params are the input members by model name, as JSON would carry them (boto3's
	// parameter shapes): numbers, strings, booleans, lists and objects.
	Params map[string]any
	// SourceIP and UserAgent default to Caller.InvokedBy.
	SourceIP, UserAgent string
}

// Invoke runs an Invocation and returns its output in the same JSON-like form as Params
// (timestamps as epoch seconds). Its error is the AWS error the call answered.
func (g *Gateway) Invoke(ctx context.Context, inv Invocation) (map[string]any, error) {
	svc := g.lookup(inv.Service)
	if svc == nil {
		return nil, awserr.New("InvalidParameterValue", http.StatusBadRequest, "Service %q is not served by bannin.", inv.Service)
	}
	m := svc.Model()
	op := m.Operations[inv.Operation]
	if op == nil {
		return nil, awserr.New("InvalidAction", http.StatusBadRequest, "The action %s is not valid for service %s.", inv.Operation, inv.Service)
	}
	account := inv.Account
	if account == "" {
		account = inv.Caller.Account
	}
	c := &call.Call{RequestID: newRequestID(), EventID: audit.NewEventID(), Time: g.opts.Clock().UTC(),
		Service: m.Name, Operation: op.Name, Account: account, Region: inv.Region, Caller: inv.Caller,
		SourceIP: orElse(inv.SourceIP, inv.Caller.InvokedBy), UserAgent: orElse(inv.UserAgent, inv.Caller.InvokedBy)}
	ctx = store.WithEventID(call.With(ctx, c), c.EventID)
	o := audit.Outcome{Service: m, Op: op}
	// Params arrive as JSON would carry them, but an invalid one is answered in the
	// service's own words: S3's are not the JSON services' ValidationException.
	proto := "json"
	if m.Metadata.Protocol == "rest-xml" {
		proto = m.Metadata.Protocol
	}
	in := map[string]any{}
	if op.Input != nil {
		var err error
		params := inv.Params
		if params == nil {
			params = map[string]any{}
		}
		if in, err = treeconv.DecodeStruct(params, op.Input, invokeOptions); err != nil {
			o.Err = validationError(proto, op, err)
		}
	}
	recorded := false
	if o.Err == nil {
		recorded = g.execute(ctx, c, svc, proto, op, in, &o)
	} else {
		o.In = in
	}
	if !recorded {
		if err := g.record(context.WithoutCancel(ctx), c, o); err != nil {
			return nil, fmt.Errorf("gateway: record %s: %w", op.Name, err)
		}
	}
	if rc, ok := o.Out[payloadName(op)].(io.Closer); ok {
		_ = rc.Close() // a streaming body (S3 GetObject) is not part of the result
	}
	if o.Err != nil {
		return nil, o.Err
	}
	if op.Output == nil || o.Out == nil {
		return map[string]any{}, nil
	}
	return treeconv.EncodeStruct(o.Out, op.Output, invokeOptions), nil
}

// invokeOptions read and write boto3's parameter shapes: member names, base64 blobs and
// epoch-second timestamps.
var invokeOptions = func() *treeconv.Options {
	o := *awsjson.Options
	o.Key = func(m *model.Member) string { return m.Name }
	return &o
}()

// lookup finds a service by boto3 client name, model name or signing name.
func (g *Gateway) lookup(name string) Service {
	g.byNameOnce.Do(func() {
		g.byName = map[string]Service{}
		for _, s := range g.opts.Services {
			m := s.Model()
			for _, n := range []string{s.SigningName(), m.Name, m.Metadata.EndpointPrefix,
				strings.ReplaceAll(strings.ToLower(m.Metadata.ServiceID), " ", "")} {
				if n != "" {
					g.byName[strings.ToLower(n)] = s
				}
			}
		}
		// boto3 names that are none of the above.
		if s, ok := g.byName["configservice"]; ok {
			g.byName["config"] = s
		}
	})
	return g.byName[strings.ToLower(name)]
}

func orElse(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// byName fields live here, next to their only user.
type lookupCache struct {
	byNameOnce sync.Once
	byName     map[string]Service
}
