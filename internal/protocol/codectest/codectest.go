// Package codectest runs a codec behind an httptest server on 127.0.0.1 so that tests can
// point real AWS SDK clients (or hand-built requests) at it and check what the codec
// decoded and what the client made of the answer.
package codectest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/bannin/bannin/internal/model"
)

// Model loads internal/wire/<dir>/model.json.
func Model(t testing.TB, dir, name string) *model.Service {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "wire", dir, "model.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read model: %v", err)
	}
	svc, err := model.Load(name, b)
	if err != nil {
		t.Fatalf("load model %s: %v", name, err)
	}
	return svc
}

// Call is one request as the codec decoded it.
type Call struct {
	Codec string
	Op    string
	In    map[string]any
	// Payload holds the bytes of a streaming input member, read by the server.
	Payload []byte
}

// Handler answers a decoded call with an output value tree or an error.
type Handler func(op *model.Operation, in map[string]any) (map[string]any, error)

// Server is a test server with the calls it has seen.
type Server struct {
	URL string
	mu  sync.Mutex
	cs  []Call
}

// Calls returns the calls decoded so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.cs...)
}

// Last returns the last decoded call, failing the test when there is none.
func (s *Server) Last(t testing.TB) Call {
	t.Helper()
	cs := s.Calls()
	if len(cs) == 0 {
		t.Fatalf("no call reached the handler")
	}
	return cs[len(cs)-1]
}

// Codec is protocol.Codec, restated so that the protocol package's own tests can use this one.
type Codec interface {
	Name() string
	Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error)
	DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error)
	WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string)
	WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string)
}

// Pick chooses a request's codec; tests pass a wrapper of protocol.For.
type Pick func(svc *model.Service, r *http.Request) (Codec, error)

// RequestID is the request id every answer of the server carries.
const RequestID = "11111111-2222-3333-4444-555555555555"

func streamingInput(op *model.Operation) bool {
	if op == nil || op.Input == nil || op.Input.Payload == "" {
		return false
	}
	m := op.Input.MemberByName(op.Input.Payload)
	return m != nil && m.IsStreaming()
}

// Serve starts a server that chooses the codec with pick (protocol.For) and answers with h.
func Serve(t testing.TB, svc *model.Service, pick Pick, h Handler) *Server {
	t.Helper()
	s := &Server{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const reqID = RequestID
		codec, err := pick(svc, r)
		if err != nil {
			t.Errorf("choose codec: %v", err)
			http.Error(w, err.Error(), 500)
			return
		}
		var body []byte
		rest := codec.Name() == "rest-xml" || codec.Name() == "rest-json"
		if !rest {
			body, _ = io.ReadAll(r.Body)
			if body == nil {
				body = []byte{}
			}
		}
		op, err := codec.Operation(svc, r, body)
		if err != nil {
			codec.WriteError(w, svc, nil, err, reqID)
			return
		}
		if rest && !streamingInput(op) {
			body, _ = io.ReadAll(r.Body)
			if body == nil {
				body = []byte{}
			}
		}
		in, err := codec.DecodeRequest(svc, op, r, body)
		if err != nil {
			codec.WriteError(w, svc, op, err, reqID)
			return
		}
		c := Call{Codec: codec.Name(), Op: op.Name, In: in}
		if streamingInput(op) {
			if rd, ok := in[op.Input.Payload].(io.Reader); ok {
				c.Payload, _ = io.ReadAll(rd)
				in[op.Input.Payload] = bytes.NewReader(c.Payload)
			}
		}
		s.mu.Lock()
		s.cs = append(s.cs, c)
		s.mu.Unlock()
		out, err := h(op, in)
		if err != nil {
			codec.WriteError(w, svc, op, err, reqID)
			return
		}
		codec.WriteResponse(w, svc, op, out, reqID)
	}))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// ReadAll reads and closes a response body.
func ReadAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
