// Package protocol holds the wire codecs of the AWS protocols. A codec reads a request
// into a value tree (see package model) and writes a value tree or an error back; it knows
// nothing of what the operation does, and handlers know nothing of the protocol.
package protocol

import (
	"net/http"

	"github.com/bannin/bannin/internal/model"
)

// Codec reads requests and writes responses in one wire protocol.
type Codec interface {
	// Name is the protocol's botocore name ("json", "query", "ec2", "rest-xml", "rest-json",
	// "smithy-rpc-v2-cbor"); CloudWatch's query-compatible json is "json".
	Name() string
	// Operation finds the operation a request calls: X-Amz-Target, Action=, the
	// rpc-v2-cbor path, or the method and URI template of a rest protocol.
	Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error)
	// DecodeRequest reads the operation's input into a value tree. body is the whole
	// request body, or nil when the input has a streaming payload: then r.Body is read.
	DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error)
	// WriteResponse writes the operation's output value tree.
	WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string)
	// WriteError writes err in the protocol's error shape; op may be nil when the
	// request never reached an operation.
	WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string)
}
