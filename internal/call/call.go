// Package call carries what a handler needs to know about the API call it serves: who is
// calling, in which account and region, and the store transaction its writes belong to.
// The gateway fills it in; handlers read it with From.
package call

import (
	"context"
	"os"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// Principal is an authenticated caller, as CloudTrail's userIdentity describes it.
type Principal struct {
	// Type is Root, IAMUser, AssumedRole or AWSService.
	Type        string
	Account     string
	ARN         string
	PrincipalID string
	UserName    string
	AccessKeyID string
	// SessionName and IssuerARN describe an assumed role's session.
	SessionName string
	IssuerARN   string
	IssuerName  string
	// SessionIssued is when an assumed role's session began.
	SessionIssued time.Time
	// InvokedBy names the AWS service that made the call on the caller's behalf.
	InvokedBy string
}

// Resource is a resource a call touched, for the record's resources list and the
// ResourceType/ResourceName lookup attributes.
type Resource struct {
	Type string // CloudFormation type, e.g. AWS::CloudTrail::Trail
	Name string // the resource's name or ARN, as CloudTrail shows it
	ARN  string
}

// Call describes one API call in progress.
type Call struct {
	RequestID string
	// EventID is the id the call's CloudTrail record will have, known before the handler
	// runs so that the changes it makes can name their cause.
	EventID   string
	Time      time.Time
	Service   string // the model's name, e.g. "cloudtrail"
	Operation string
	Account   string
	Region    string
	Caller    Principal
	SourceIP  string
	UserAgent string
	// Tx is the transaction the call runs in: a write transaction for mutating
	// operations, a read snapshot for read-only ones.
	Tx store.ReadTx
	// Resources collects what the handler reports with Touch.
	Resources []Resource
}

// Write returns the call's write transaction, or nil for a read-only call.
func (c *Call) Write() store.Tx {
	tx, _ := c.Tx.(store.Tx)
	return tx
}

// Touch records that the call acted on a resource.
func (c *Call) Touch(typ, name, arn string) {
	c.Resources = append(c.Resources, Resource{Type: typ, Name: name, ARN: arn})
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c *Call) context.Context { return context.WithValue(ctx, key{}, c) }

// From returns the call ctx carries; handlers are only ever called with one.
func From(ctx context.Context) *Call {
	c, _ := ctx.Value(key{}).(*Call)
	return c
}

// Spool is a streaming request payload the gateway has already received and checked
// against its signature, kept in a file so that handlers can move it into place
// without reading it inside a transaction.
type Spool struct {
	*os.File
	Path string
	Size int64
	// MD5 is the payload's MD5, computed while it was received (S3's ETag).
	MD5 []byte
}
