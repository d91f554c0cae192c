// Package restjson is the codec of the rest-json protocol (cloudtrail-data, Lambda): the
// operation is told by method and URI template, members are bound to the path, query
// string and headers, and the rest travels as a JSON body or a raw payload.
package restjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/contentenc"
	"github.com/bannin/bannin/internal/protocol/fault"
	"github.com/bannin/bannin/internal/protocol/httpbind"
	"github.com/bannin/bannin/internal/protocol/treeconv"
)

// Codec is the rest-json codec.
type Codec struct{}

// New returns the rest-json codec.
func New() Codec { return Codec{} }

// Name is "rest-json".
func (Codec) Name() string { return "rest-json" }

// bodyOptions are the json conversions for members that travel in the body.
var bodyOptions = func() *treeconv.Options {
	o := *awsjson.Options
	o.Skip = httpbind.Bound
	return &o
}()

// Operation routes by method and requestUri template.
func (Codec) Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error) {
	op, _, err := httpbind.Match(svc, r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header)
	switch {
	case errors.Is(err, httpbind.ErrNoMethod):
		return nil, awserr.New("UnknownOperationException", http.StatusMethodNotAllowed,
			"no %s operation takes %s %s", svc.Metadata.ServiceID, r.Method, r.URL.Path)
	case err != nil:
		return nil, awserr.New("UnknownOperationException", http.StatusNotFound,
			"no %s operation matches %s %s", svc.Metadata.ServiceID, r.Method, r.URL.Path)
	}
	return op, nil
}

// DecodeRequest reads the bound members and the JSON body or raw payload.
func (Codec) DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error) {
	in := map[string]any{}
	sh := op.Input
	if sh == nil {
		return in, nil
	}
	_, labels, err := httpbind.Match(svc, op.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header)
	if err != nil {
		labels = map[string]string{}
	}
	if err := httpbind.DecodeBindings(sh, r, labels, in); err != nil {
		return nil, awsjson.SerializationError(err)
	}
	if body != nil {
		if body, err = contentenc.Body(r, body); err != nil {
			return nil, err
		}
	}
	if sh.Payload != "" {
		pm := sh.MemberByName(sh.Payload)
		switch {
		case pm == nil:
		case pm.IsStreaming():
			if body == nil {
				in[pm.Name] = io.Reader(r.Body)
			} else {
				in[pm.Name] = bytes.NewReader(body)
			}
		case pm.Shape.Type == model.Structure || pm.Shape.Document:
			raw, err := awsjson.Unmarshal(body)
			if err != nil {
				return nil, awsjson.SerializationError(err)
			}
			if raw == nil {
				break
			}
			v, err := treeconv.Decode(raw, pm, pm.Name, awsjson.Options)
			if err != nil {
				return nil, awsjson.SerializationError(err)
			}
			in[pm.Name] = v
		case pm.Shape.Type == model.Blob:
			if len(body) > 0 {
				in[pm.Name] = body
			}
		case pm.Shape.Type == model.String:
			if len(body) > 0 {
				in[pm.Name] = string(body)
			}
		}
		return in, nil
	}
	raw, err := awsjson.Unmarshal(body)
	if err != nil {
		return nil, awsjson.SerializationError(err)
	}
	v, err := treeconv.DecodeStruct(raw, sh, bodyOptions)
	if err != nil {
		return nil, awsjson.SerializationError(err)
	}
	for k, e := range v {
		in[k] = e
	}
	return in, nil
}

func hasBodyMembers(sh *model.Shape) bool {
	for _, m := range sh.Members {
		if !httpbind.Bound(m) {
			return true
		}
	}
	return false
}

// WriteResponse writes the bound headers and status and the JSON body or raw payload.
func (Codec) WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string) {
	h := w.Header()
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	sh := op.Output
	status := httpbind.WriteBindings(h, sh, out, op.ResponseCode)
	var b []byte
	switch {
	case sh == nil:
	case sh.Payload != "":
		pm := sh.MemberByName(sh.Payload)
		v, ok := out[sh.Payload]
		if pm == nil || !ok || v == nil {
			break
		}
		if rd, ok := v.(io.Reader); ok {
			if c, ok := v.(io.Closer); ok {
				defer c.Close()
			}
			w.WriteHeader(status)
			_, _ = io.Copy(w, rd)
			return
		}
		if pm.Shape.Type == model.Structure || pm.Shape.Document {
			b, _ = json.Marshal(treeconv.Encode(v, pm, awsjson.Options))
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/json")
			}
		} else if bs, ok := treeconv.AsBytes(v); ok {
			b = bs
		}
	case hasBodyMembers(sh):
		b, _ = json.Marshal(treeconv.EncodeStruct(out, sh, bodyOptions))
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError writes {"__type":..,"message":..} with X-Amzn-ErrorType.
func (Codec) WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string) {
	f := fault.From(svc, op, err)
	b, _ := json.Marshal(awsjson.ErrorBody(svc, f))
	h := w.Header()
	h.Set("X-Amzn-ErrorType", f.Type)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(b)
}
