package wire_test

import (
	"context"
	"testing"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/wire"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/cloudtraildata"
	"github.com/bannin/bannin/internal/wire/cloudwatch"
	"github.com/bannin/bannin/internal/wire/config"
	"github.com/bannin/bannin/internal/wire/ec2"
	"github.com/bannin/bannin/internal/wire/events"
	"github.com/bannin/bannin/internal/wire/iam"
	"github.com/bannin/bannin/internal/wire/kms"
	"github.com/bannin/bannin/internal/wire/logs"
	"github.com/bannin/bannin/internal/wire/organizations"
	"github.com/bannin/bannin/internal/wire/s3"
	"github.com/bannin/bannin/internal/wire/sns"
	"github.com/bannin/bannin/internal/wire/ssm"
	"github.com/bannin/bannin/internal/wire/sts"
)

// handler is what the gateway sees of a generated package.
type handler interface {
	Model() *model.Service
	NewInput(op string) any
	Call(ctx context.Context, op string, in any) (any, error)
}

var handlers = map[string]handler{
	"cloudtrail":      cloudtrail.Handler{API: cloudtrail.Unimplemented{}},
	"cloudtrail-data": cloudtraildata.Handler{API: cloudtraildata.Unimplemented{}},
	"cloudwatch":      cloudwatch.Handler{API: cloudwatch.Unimplemented{}},
	"config":          config.Handler{API: config.Unimplemented{}},
	"ec2":             ec2.Handler{API: ec2.Unimplemented{}},
	"events":          events.Handler{API: events.Unimplemented{}},
	"iam":             iam.Handler{API: iam.Unimplemented{}},
	"kms":             kms.Handler{API: kms.Unimplemented{}},
	"logs":            logs.Handler{API: logs.Unimplemented{}},
	"organizations":   organizations.Handler{API: organizations.Unimplemented{}},
	"s3":              s3.Handler{API: s3.Unimplemented{}},
	"sns":             sns.Handler{API: sns.Unimplemented{}},
	"ssm":             ssm.Handler{API: ssm.Unimplemented{}},
	"sts":             sts.Handler{API: sts.Unimplemented{}},
}

func TestModelsLoad(t *testing.T) {
	models := wire.Models()
	if len(models) != len(handlers) {
		t.Fatalf("Models() = %d services; want %d", len(models), len(handlers))
	}
	for _, m := range models {
		h, ok := handlers[m.Name]
		if !ok {
			t.Errorf("Models() has %s, which the test does not know", m.Name)
			continue
		}
		if h.Model() != m {
			t.Errorf("%s: Handler.Model() is not the package's Model()", m.Name)
		}
		if len(m.OperationList) == 0 || m.Metadata.ServiceID == "" || m.Metadata.APIVersion == "" {
			t.Errorf("%s: model has %d operations, serviceId %q, apiVersion %q", m.Name, len(m.OperationList), m.Metadata.ServiceID, m.Metadata.APIVersion)
		}
	}
}

func TestEveryOperationUnimplemented(t *testing.T) {
	ctx := context.Background()
	for name, h := range handlers {
		for _, op := range h.Model().OperationList {
			in := h.NewInput(op.Name)
			if in == nil {
				t.Errorf("%s: NewInput(%q) = nil", name, op.Name)
				continue
			}
			out, err := h.Call(ctx, op.Name, in)
			if out != nil {
				t.Errorf("%s: Call(%q) output = %#v; want nil", name, op.Name, out)
			}
			c, ok := awserr.As(err)
			if !ok {
				t.Errorf("%s: Call(%q) error = %v; want an awserr.Coded", name, op.Name, err)
				continue
			}
			if c.AWSErrorCode() != "UnsupportedOperation" || c.AWSHTTPStatus() != 501 {
				t.Errorf("%s: Call(%q) = %s %d; want UnsupportedOperation 501", name, op.Name, c.AWSErrorCode(), c.AWSHTTPStatus())
			}
		}
		if in := h.NewInput("NoSuchOperation"); in != nil {
			t.Errorf("%s: NewInput(NoSuchOperation) = %T; want nil", name, in)
		}
		if _, err := h.Call(ctx, "NoSuchOperation", nil); err == nil {
			t.Errorf("%s: Call(NoSuchOperation) succeeded", name)
		}
	}
}

// recorder implements one cloudtrail operation and checks that Call passes the input
// through and returns the typed output or error.
type recorder struct {
	cloudtrail.Unimplemented
	got *cloudtrail.GetTrailRequest
}

func (r *recorder) GetTrail(_ context.Context, in *cloudtrail.GetTrailRequest) (*cloudtrail.GetTrailResponse, error) {
	r.got = in
	if *in.Name == "missing" {
		return nil, &cloudtrail.TrailNotFoundException{Message: in.Name}
	}
	return &cloudtrail.GetTrailResponse{Trail: &cloudtrail.Trail{Name: in.Name}}, nil
}

func TestHandlerCall(t *testing.T) {
	r := &recorder{}
	h := cloudtrail.Handler{API: r}
	in := h.NewInput("GetTrail").(*cloudtrail.GetTrailRequest)
	name := "t1"
	in.Name = &name
	out, err := h.Call(context.Background(), "GetTrail", in)
	if err != nil {
		t.Fatal(err)
	}
	if r.got != in {
		t.Errorf("GetTrail got %p; want the input %p", r.got, in)
	}
	if got := *out.(*cloudtrail.GetTrailResponse).Trail.Name; got != "t1" {
		t.Errorf("GetTrail output trail name = %q; want t1", got)
	}
	missing := "missing"
	in.Name = &missing
	out, err = h.Call(context.Background(), "GetTrail", in)
	if out != nil {
		t.Errorf("GetTrail(missing) output = %#v; want nil", out)
	}
	c, ok := awserr.As(err)
	if !ok || c.AWSErrorCode() != "TrailNotFoundException" || c.AWSHTTPStatus() != 400 || c.AWSMessage() != "missing" || !c.AWSSenderFault() {
		t.Errorf("GetTrail(missing) error = %v; want TrailNotFoundException 400 sender fault with message", err)
	}
	if _, err := h.Call(context.Background(), "GetTrail", &cloudtrail.DeleteTrailRequest{}); err == nil {
		t.Errorf("Call(GetTrail) with a DeleteTrailRequest succeeded")
	}
}

func TestExceptionCodes(t *testing.T) {
	msg := "boom"
	for _, c := range []struct {
		err    awserr.Coded
		code   string
		status int
		sender bool
	}{
		{&sns.AuthorizationErrorException{Message: &msg}, "AuthorizationError", 403, true},
		{&cloudwatch.InternalServiceFault{Message: &msg}, "InternalServiceError", 500, false},
		{&ssm.ParameterNotFound{Message: &msg}, "ParameterNotFound", 400, true},
		{&s3.NoSuchBucket{}, "NoSuchBucket", 404, true},
	} {
		if c.err.AWSErrorCode() != c.code || c.err.AWSHTTPStatus() != c.status || c.err.AWSSenderFault() != c.sender {
			t.Errorf("%T = %s %d sender %t; want %s %d sender %t", c.err, c.err.AWSErrorCode(), c.err.AWSHTTPStatus(), c.err.AWSSenderFault(), c.code, c.status, c.sender)
		}
	}
}
