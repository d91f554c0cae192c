// Package gateway is bannin's one HTTP endpoint for every AWS service: it routes a request
// to its service and operation, authenticates it, decodes it with the protocol's codec,
// validates it against the model, runs the handler in a store transaction together with
// the call's CloudTrail record, and writes the answer in the same protocol.
package gateway

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol"
	"github.com/bannin/bannin/internal/protocol/restxml"
	"github.com/bannin/bannin/internal/store"
)

// Service is one AWS service's handlers, as the generated wire packages adapt them.
type Service interface {
	// SigningName routes requests by their credential scope without parsing the model,
	// which is loaded on a service's first request.
	SigningName() string
	Model() *model.Service
	NewInput(op string) any
	Call(ctx context.Context, op string, in any) (any, error)
}

// Auth is what authentication learns of a request.
type Auth struct {
	Caller call.Principal
	// Body replaces the request body when the payload is checked while it is read (S3).
	Body io.Reader
}

// Options wire a Gateway.
type Options struct {
	Services []Service
	Store    store.Store
	// Scope reads the signing service and region from a request without verifying it.
	Scope func(r *http.Request) (service, region string, err error)
	// Authenticate verifies the request's signature. body is nil for services whose
	// payload streams (S3); then Auth.Body carries the checked payload.
	Authenticate func(ctx context.Context, r *http.Request, service string, body []byte) (Auth, error)
	// Unrouted rewords a Scope error for the service the request's shape points to (an
	// unsigned S3 request is AccessDenied, an unsigned JSON one MissingAuthenticationToken).
	Unrouted func(err error, service string) error
	Clock    func() time.Time
	Logger   *slog.Logger
	// MaxBodyBytes bounds non-streaming request bodies (default 16 MiB).
	MaxBodyBytes int64
	// SpoolDir holds streaming payloads while their call runs.
	SpoolDir string
}

// Gateway is the http.Handler for AWS API calls.
type Gateway struct {
	opts     Options
	services map[string]Service // by signing name
	lookupCache
}

// New returns a gateway serving opts.Services.
func New(opts Options) *Gateway {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 16 << 20
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	g := &Gateway{opts: opts, services: map[string]Service{}}
	for _, s := range opts.Services {
		g.services[s.SigningName()] = s
	}
	return g
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header()["X-Amzn-Requestid"] = []string{reqID} // canonical form of x-amzn-RequestId
	now := g.opts.Clock().UTC()
	name, region, err := g.opts.Scope(r)
	if err != nil {
		g.writeUnrouted(w, r, err, reqID)
		return
	}
	svc, ok := g.services[name]
	if !ok {
		g.writeUnrouted(w, r, awserr.New("UnrecognizedClientException", http.StatusBadRequest,
			"The credential scope names service %q, which bannin does not serve.", name), reqID)
		return
	}
	m := svc.Model()
	codec, err := protocol.For(m, r)
	if err != nil {
		g.writeUnrouted(w, r, err, reqID)
		return
	}
	if m.Metadata.Protocol == "rest-xml" {
		w.Header().Set("x-amz-request-id", reqID)
	}
	fail := func(op *model.Operation, err error) { codec.WriteError(w, m, op, err, reqID) }

	var body []byte
	// S3's payload is checked against its signature while it is read, so it is read only
	// once the verifier has wrapped it, and never whole when the operation streams it.
	streaming := m.Metadata.Protocol == "rest-xml"
	if !streaming {
		if body, err = g.readBody(r.Body); err != nil {
			fail(nil, err)
			return
		}
	}
	auth, err := g.opts.Authenticate(r.Context(), r, name, body)
	if err != nil {
		fail(nil, err)
		return
	}
	if auth.Body != nil {
		r.Body = io.NopCloser(auth.Body)
	}
	op, err := codec.Operation(m, r, body)
	if err != nil {
		fail(nil, err)
		return
	}
	if streaming && !protocol.StreamingInput(op) {
		if body, err = g.readBody(r.Body); err != nil {
			fail(op, err)
			return
		}
	}
	c := &call.Call{RequestID: reqID, EventID: audit.NewEventID(), Time: now, Service: m.Name, Operation: op.Name,
		Account: auth.Caller.Account, Region: region, Caller: auth.Caller,
		SourceIP: sourceIP(r), UserAgent: r.UserAgent()}
	ctx := store.WithEventID(call.With(r.Context(), c), c.EventID)
	o := audit.Outcome{Service: m, Op: op, Host: r.Host}
	if r.TLS != nil {
		o.TLS = &audit.TLSDetails{TLSVersion: tlsVersion(r.TLS.Version), CipherSuite: tlsCipher(r.TLS.CipherSuite), ClientProvidedHostHeader: r.Host}
	}
	recorded := g.serve(ctx, c, svc, codec, op, r, body, &o)
	defer func() {
		if rc, ok := o.Out[payloadName(op)].(io.Closer); ok {
			_ = rc.Close()
		}
	}()
	if !recorded {
		// The record must be kept even if the client has gone away meanwhile.
		if err := g.record(context.WithoutCancel(ctx), c, o); err != nil {
			g.opts.Logger.Error("gateway: record call", "op", op.Name, "err", err)
			fail(op, awserr.Internal())
			return
		}
	}
	if o.Err != nil {
		fail(op, o.Err)
		return
	}
	codec.WriteResponse(w, m, op, o.Out, reqID)
}

// readBody reads a whole request body, bounded by MaxBodyBytes.
func (g *Gateway) readBody(rd io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(rd, g.opts.MaxBodyBytes+1))
	if err != nil {
		if _, ok := awserr.As(err); ok {
			return nil, err // the payload did not match its signature
		}
		return nil, awserr.New("IncompleteBody", http.StatusBadRequest, "The request body could not be read: %v", err)
	}
	if int64(len(body)) > g.opts.MaxBodyBytes {
		return nil, awserr.New("RequestEntityTooLarge", http.StatusRequestEntityTooLarge,
			"The request body exceeds the maximum size of %d bytes.", g.opts.MaxBodyBytes)
	}
	if body == nil {
		body = []byte{}
	}
	return body, nil
}

// errHandler carries a handler's error out of a store transaction so that its writes roll back.
type errHandler struct{ err error }

func (e errHandler) Error() string { return e.err.Error() }

// serve decodes, validates and calls the operation, filling o's input, output and error.
// A mutating call that succeeds commits its CloudTrail record in the same transaction as
// its state change and serve reports it recorded; every other call is recorded by the
// caller once serve returns.
func (g *Gateway) serve(ctx context.Context, c *call.Call, svc Service, codec protocol.Codec, op *model.Operation,
	r *http.Request, body []byte, o *audit.Outcome) (recorded bool) {
	in, err := codec.DecodeRequest(svc.Model(), op, r, body)
	if err != nil {
		o.Err = err
		return false
	}
	return g.execute(ctx, c, svc, codec.Name(), op, in, o)
}

// execute validates, binds and runs one operation whose input is decoded, filling o's
// output and error; recorded is as for serve.
func (g *Gateway) execute(ctx context.Context, c *call.Call, svc Service, protocolName string, op *model.Operation,
	in map[string]any, o *audit.Outcome) (recorded bool) {
	o.In = in
	if op.Input != nil {
		if err := model.Validate(op.Input, in); err != nil {
			o.Err = validationError(protocolName, op, err)
			return false
		}
	}
	if err := g.spool(op, in); err != nil {
		o.Err = err
		return false
	}
	defer cleanSpool(op, in)
	typed := svc.NewInput(op.Name)
	if typed == nil {
		o.Err = awserr.NotImplemented(svc.Model().Metadata.ServiceID, op.Name)
		return false
	}
	if err := model.Bind(typed, in); err != nil {
		o.Err = validationError(protocolName, op, err)
		return false
	}
	run := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				g.opts.Logger.Error("gateway: handler panic", "op", op.Name, "panic", p, "stack", string(debug.Stack()))
				err = errHandler{awserr.Internal()}
			}
		}()
		res, err := svc.Call(ctx, op.Name, typed)
		if err != nil {
			if _, ok := awserr.As(err); !ok {
				g.opts.Logger.Error("gateway: handler", "op", op.Name, "err", err)
				err = awserr.Internal()
			}
			return errHandler{err}
		}
		if res != nil {
			o.Out = model.Unbind(res)
		}
		return nil
	}
	var err error
	if audit.ReadOnly(c.Service, op.Name) {
		err = g.opts.Store.View(ctx, func(tx store.ReadTx) error { c.Tx = tx; return run() })
	} else {
		// The record's request part is encoded here, off the store's single writer; in
		// the transaction only the outcome is added to it.
		p, perr := audit.Prepare(c, *o)
		if perr != nil {
			o.Err = awserr.Internal()
			g.opts.Logger.Error("gateway: prepare record", "op", op.Name, "err", perr)
			return false
		}
		err = g.opts.Store.Update(ctx, func(tx store.Tx) error {
			c.Tx = tx
			if err := run(); err != nil {
				return err
			}
			ev, err := p.Finish(c, *o)
			if err != nil {
				return err
			}
			return tx.AppendEvent(ctx, ev)
		})
		recorded = err == nil
	}
	c.Tx = nil
	var he errHandler
	switch {
	case errors.As(err, &he):
		o.Out, o.Err = nil, he.err
	case err != nil:
		g.opts.Logger.Error("gateway: call", "op", op.Name, "err", err)
		o.Out, o.Err = nil, awserr.Internal()
	}
	return recorded
}

// record makes the call's CloudTrail record durable before the answer goes out.
func (g *Gateway) record(ctx context.Context, c *call.Call, o audit.Outcome) error {
	ev, err := audit.Build(c, o)
	if err != nil {
		return err
	}
	return g.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.AppendEvent(ctx, ev) })
}

// validationError turns a decode or model-validation failure into the error code the
// protocol's services use for it. S3 (rest-xml) words each kind of invalid input in its
// own way, which restxml.ValidationError knows; the others share one code per protocol.
func validationError(protocolName string, op *model.Operation, err error) error {
	if _, ok := awserr.As(err); ok {
		return err
	}
	if protocolName == "rest-xml" {
		if s3err, ok := restxml.ValidationError(op, err); ok {
			return s3err
		}
	}
	code := "ValidationException"
	switch protocolName {
	case "query":
		code = "ValidationError"
	case "ec2":
		code = "InvalidParameterValue"
	case "rest-xml":
		code = "InvalidArgument"
	}
	return awserr.New(code, http.StatusBadRequest, "%s", err.Error())
}

func payloadName(op *model.Operation) string {
	if op.Output == nil {
		return ""
	}
	return op.Output.Payload
}

// spool receives a streaming input payload into a file, so that a bad signature or a
// broken connection fails the call before any state changes.
func (g *Gateway) spool(op *model.Operation, in map[string]any) error {
	if op.Input == nil || op.Input.Payload == "" {
		return nil
	}
	rd, ok := in[op.Input.Payload].(io.Reader)
	if !ok {
		return nil
	}
	if _, isSpool := rd.(*call.Spool); isSpool {
		return nil
	}
	if err := os.MkdirAll(g.opts.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("gateway: spool: %w", err)
	}
	f, err := os.CreateTemp(g.opts.SpoolDir, "upload-*")
	if err != nil {
		return fmt.Errorf("gateway: spool: %w", err)
	}
	sum := md5.New()
	n, err := io.Copy(io.MultiWriter(f, sum), rd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		if _, ok := awserr.As(err); ok {
			return err
		}
		return awserr.New("IncompleteBody", http.StatusBadRequest, "The request body could not be read: %v", err)
	}
	in[op.Input.Payload] = &call.Spool{File: f, Path: f.Name(), Size: n, MD5: sum.Sum(nil)}
	return nil
}

func cleanSpool(op *model.Operation, in map[string]any) {
	if op.Input == nil || op.Input.Payload == "" {
		return
	}
	if s, ok := in[op.Input.Payload].(*call.Spool); ok {
		s.Close()
		os.Remove(s.Path) // a handler that kept the file renamed it away first
	}
}

// writeUnrouted answers a request that names no service bannin can route to, in the
// protocol its shape suggests.
func (g *Gateway) writeUnrouted(w http.ResponseWriter, r *http.Request, err error, reqID string) {
	target, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	want := "rest-xml" // S3 answers anonymous requests
	if target != "" {
		want = "json"
	} else if r.URL.Query().Get("Action") != "" || r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		want = "query"
	}
	var m *model.Service
	for _, svc := range g.opts.Services {
		s := svc.Model()
		prefix := s.Metadata.TargetPrefix
		if want == "json" && prefix != "" && (prefix == target || strings.HasSuffix(prefix, "."+target)) ||
			want != "json" && s.Metadata.Protocol == want {
			m = s
			break
		}
	}
	if m == nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if g.opts.Unrouted != nil {
		err = g.opts.Unrouted(err, m.Metadata.SigningNameOrPrefix())
	}
	codec, cerr := protocol.For(m, r)
	if cerr != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	codec.WriteError(w, m, nil, err, reqID)
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
