// Package rpcv2cbor is the codec of Smithy RPC v2 CBOR (CloudWatch as aws-sdk-go-v2 calls
// it): POST /service/<ServiceName>/operation/<Operation>, bodies as CBOR maps keyed by
// member name, timestamps as tag 1 epoch seconds, errors as {"__type","message"}.
package rpcv2cbor

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/contentenc"
	"github.com/bannin/bannin/internal/protocol/fault"
	"github.com/bannin/bannin/internal/protocol/timefmt"
	"github.com/bannin/bannin/internal/protocol/treeconv"
)

// Codec is the rpc-v2-cbor codec.
type Codec struct{}

// New returns the rpc-v2-cbor codec.
func New() Codec { return Codec{} }

// Name is "smithy-rpc-v2-cbor".
func (Codec) Name() string { return "smithy-rpc-v2-cbor" }

// Operation reads the operation name from /service/<name>/operation/<Operation>.
func (Codec) Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "service" || parts[len(parts)-2] != "operation" {
		return nil, awserr.New("UnknownOperationException", http.StatusNotFound,
			"path %s is not /service/<service>/operation/<operation>", r.URL.Path)
	}
	name := parts[len(parts)-1]
	op := svc.Operations[name]
	if op == nil {
		return nil, awserr.New("UnknownOperationException", http.StatusNotFound,
			"operation %s not found in %s", name, svc.Metadata.ServiceID)
	}
	return op, nil
}

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DefaultMapType:  reflect.TypeOf(map[string]any(nil)),
		MaxNestedLevels: 64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var encMode = func() cbor.EncMode {
	m, err := cbor.EncOptions{Sort: cbor.SortBytewiseLexical}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// Options are the CBOR conversions between wire values and value trees.
var Options = &treeconv.Options{
	Key:       func(m *model.Member) string { return m.Name },
	Time:      func(t time.Time, _ *model.Member) any { return cbor.Tag{Number: 1, Content: timefmt.Epoch(t)} },
	ParseTime: parseTime,
	Blob:      func(b []byte) any { return b },
	ParseBlob: func(raw any) ([]byte, error) {
		if b, ok := raw.([]byte); ok {
			return b, nil
		}
		return nil, fmt.Errorf("got %T", raw)
	},
}

func parseTime(raw any, _ *model.Member) (time.Time, error) {
	switch v := raw.(type) {
	case time.Time:
		return v.UTC(), nil
	case cbor.Tag:
		if v.Number != 1 {
			return time.Time{}, fmt.Errorf("tag %d is not an epoch timestamp", v.Number)
		}
		return parseTime(v.Content, nil)
	case float64:
		return timefmt.FromEpoch(v)
	case float32:
		return timefmt.FromEpoch(float64(v))
	case uint64:
		if v > math.MaxInt64/1000 {
			return time.Time{}, fmt.Errorf("epoch %d out of range", v)
		}
		return time.Unix(int64(v), 0).UTC(), nil
	case int64:
		return timefmt.FromEpoch(float64(v))
	}
	return time.Time{}, fmt.Errorf("got %T", raw)
}

// DecodeRequest reads the CBOR body; an empty body is an empty input.
func (Codec) DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error) {
	body, err := contentenc.Body(r, body)
	if err != nil {
		return nil, err
	}
	if op.Input == nil || len(body) == 0 {
		return map[string]any{}, nil
	}
	var raw any
	if err := decMode.Unmarshal(body, &raw); err != nil {
		return nil, awserr.New("SerializationException", http.StatusBadRequest, "malformed CBOR body: %v", err)
	}
	in, err := treeconv.DecodeStruct(raw, op.Input, Options)
	if err != nil {
		return nil, awserr.New("SerializationException", http.StatusBadRequest, "%s", err.Error())
	}
	return in, nil
}

func write(w http.ResponseWriter, status int, requestID string, v any) {
	var b []byte
	if v != nil {
		var err error
		if b, err = encMode.Marshal(v); err != nil {
			status = http.StatusInternalServerError
			b, _ = encMode.Marshal(map[string]any{"__type": "InternalFailure", "message": "the response could not be encoded"})
		}
	}
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	if len(b) > 0 {
		h.Set("Content-Type", "application/cbor")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
	_, _ = bytes.NewReader(b).WriteTo(w)
}

// WriteResponse writes the output as a CBOR map (no body for operations without output).
func (Codec) WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string) {
	var v any
	if op != nil && op.Output != nil {
		v = treeconv.EncodeStruct(out, op.Output, Options)
	}
	write(w, http.StatusOK, requestID, v)
}

// WriteError writes {"__type": <shape>, "message": ...}, with x-amzn-query-error for
// query-compatible services.
func (Codec) WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string) {
	f := fault.From(svc, op, err)
	if svc != nil && svc.Metadata.AWSQueryCompatible {
		w.Header().Set("X-Amzn-Query-Error", f.Code+";"+f.Side())
	}
	body := map[string]any{"__type": f.Type, "message": f.Message}
	if svc != nil {
		if sh := svc.Shapes[f.Type]; sh != nil {
			for _, m := range sh.Members {
				if strings.EqualFold(m.Name, "message") {
					body[m.Name] = f.Message
				}
			}
		}
	}
	write(w, f.Status, requestID, body)
}
