// Package awsjson is the codec of the AWS json 1.0 and 1.1 protocols: one POST per call,
// the operation in X-Amz-Target, the input and output as JSON objects keyed by member
// name, timestamps as epoch seconds and blobs as base64. It also serves the
// query-compatible form of json (CloudWatch with X-Amzn-Query-Mode), whose errors carry
// the query error code in x-amzn-query-error.
package awsjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/contentenc"
	"github.com/bannin/bannin/internal/protocol/fault"
	"github.com/bannin/bannin/internal/protocol/timefmt"
	"github.com/bannin/bannin/internal/protocol/treeconv"
)

// Codec is the json protocol codec; its version comes from the service model.
type Codec struct{}

// New returns the json codec.
func New() Codec { return Codec{} }

// Name is "json".
func (Codec) Name() string { return "json" }

// ContentType is the json content type of svc ("application/x-amz-json-1.1").
func ContentType(svc *model.Service) string {
	v := svc.Metadata.JSONVersion
	if v == "" {
		v = "1.0"
	}
	return "application/x-amz-json-" + v
}

// Operation reads X-Amz-Target ("<targetPrefix>.<Operation>").
func (Codec) Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error) {
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		return nil, awserr.New("UnknownOperationException", http.StatusBadRequest, "missing X-Amz-Target header")
	}
	i := strings.LastIndexByte(target, '.')
	prefix, name := "", target
	if i >= 0 {
		prefix, name = target[:i], target[i+1:]
	}
	// botocore sends the model's targetPrefix; the smithy SDKs send the service shape
	// name, which is its last dotted part ("CloudTrail_20131101").
	tp := svc.Metadata.TargetPrefix
	if prefix != tp && !strings.HasSuffix(tp, "."+prefix) {
		return nil, awserr.New("UnknownOperationException", http.StatusBadRequest,
			"operation %s is not a %s operation (target prefix %q, want %q)", target, svc.Metadata.ServiceID, prefix, svc.Metadata.TargetPrefix)
	}
	op := svc.Operations[name]
	if op == nil {
		return nil, awserr.New("UnknownOperationException", http.StatusBadRequest,
			"operation %s not found in %s", name, svc.Metadata.ServiceID)
	}
	return op, nil
}

// Options are the json protocol's conversions between JSON and value trees.
var Options = &treeconv.Options{
	Key:               func(m *model.Member) string { return m.ElementName() },
	Time:              EncodeTime,
	ParseTime:         ParseTime,
	Blob:              func(b []byte) any { return base64.StdEncoding.EncodeToString(b) },
	ParseBlob:         ParseBlob,
	NonFiniteAsString: true,
}

// EncodeTime writes a timestamp in the member's format, epoch seconds by default.
func EncodeTime(t time.Time, m *model.Member) any {
	f := timefmt.Of(m, timefmt.Unix)
	if f == timefmt.Unix {
		return json.Number(timefmt.EpochString(t))
	}
	return timefmt.Format(t, f)
}

// ParseTime reads a JSON timestamp: epoch seconds, or a string in any AWS encoding.
func ParseTime(raw any, _ *model.Member) (time.Time, error) {
	switch v := raw.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not a number", v)
		}
		return timefmt.FromEpoch(f)
	case float64:
		return timefmt.FromEpoch(v)
	case string:
		return timefmt.Parse(v)
	}
	return time.Time{}, fmt.Errorf("got %T", raw)
}

// ParseBlob reads a base64 JSON string.
func ParseBlob(raw any) ([]byte, error) {
	s, ok := raw.(string)
	if !ok {
		return nil, fmt.Errorf("expected a base64 string")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			return b2, nil
		}
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	return b, nil
}

// Unmarshal parses a JSON document keeping numbers exact; an empty body is nil.
func Unmarshal(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return raw, nil
}

// SerializationError is the 400 a malformed json body gets.
func SerializationError(err error) error {
	return awserr.New("SerializationException", http.StatusBadRequest, "%s", err.Error())
}

// DecodeRequest parses the JSON body into the operation's input.
func (Codec) DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error) {
	if op.Input == nil {
		return map[string]any{}, nil
	}
	body, err := contentenc.Body(r, body)
	if err != nil {
		return nil, err
	}
	raw, err := Unmarshal(body)
	if err != nil {
		return nil, SerializationError(fmt.Errorf("malformed JSON body: %v", err))
	}
	in, err := treeconv.DecodeStruct(raw, op.Input, Options)
	if err != nil {
		return nil, SerializationError(err)
	}
	return in, nil
}

// WriteResponse writes the output as a JSON object.
func (Codec) WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string) {
	var obj map[string]any
	if op != nil && op.Output != nil {
		obj = treeconv.EncodeStruct(out, op.Output, Options)
	} else {
		obj = map[string]any{}
	}
	writeJSON(w, ContentType(svc), http.StatusOK, requestID, obj)
}

func writeJSON(w http.ResponseWriter, contentType string, status int, requestID string, obj any) {
	var b []byte
	if m, ok := obj.(map[string]any); ok && m != nil && len(m) == 0 {
		b = []byte("{}") // most write calls answer an empty output
	} else {
		var err error
		if b, err = json.Marshal(obj); err != nil {
			status = http.StatusInternalServerError
			b = []byte(`{"__type":"InternalFailure","message":"the response could not be encoded"}`)
		}
	}
	// The keys are in canonical form already, so the header map is written directly.
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	if requestID != "" {
		h["X-Amzn-Requestid"] = []string{requestID}
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ErrorBody is the JSON error document: __type, message (also under the error
// shape's own message member name, such as "Message").
func ErrorBody(svc *model.Service, f fault.Fault) map[string]any {
	body := map[string]any{"__type": f.Type, "message": f.Message}
	if svc != nil {
		if sh := svc.Shapes[f.Type]; sh != nil && sh.Exception {
			for _, m := range sh.Members {
				if strings.EqualFold(m.Name, "message") {
					body[m.ElementName()] = f.Message
				}
			}
		}
	}
	return body
}

// WriteError writes {"__type":..,"message":..} with X-Amzn-ErrorType, and for
// query-compatible services x-amzn-query-error.
func (Codec) WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string) {
	f := fault.From(svc, op, err)
	w.Header().Set("X-Amzn-ErrorType", f.Type)
	if svc != nil && svc.Metadata.AWSQueryCompatible {
		w.Header().Set("X-Amzn-Query-Error", f.Code+";"+f.Side())
	}
	ct := "application/x-amz-json-1.1"
	if svc != nil {
		ct = ContentType(svc)
	}
	writeJSON(w, ct, f.Status, requestID, ErrorBody(svc, f))
}
