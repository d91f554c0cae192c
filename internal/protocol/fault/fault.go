// Package fault turns any error a handler or the gateway returns into what the codecs put
// on the wire: code, model shape name, HTTP status, message and fault side. Errors that
// are not awserr.Coded become InternalFailure, so no internal detail reaches a client.
package fault

import (
	"net/http"
	"reflect"
	"sort"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
)

// Fault is an error as the wire sees it.
type Fault struct {
	// Code is the AWS error code ("TrailNotFoundException", "ResourceNotFound").
	Code string
	// Type is the name of the model's error shape for Code (the JSON/CBOR "__type"), or Code.
	Type    string
	Message string
	Status  int
	// Sender is true for client faults.
	Sender bool
}

// From describes err for service svc and operation op (op may be nil).
func From(svc *model.Service, op *model.Operation, err error) Fault {
	c, ok := awserr.As(err)
	if !ok {
		c = awserr.Internal()
	}
	f := Fault{Code: c.AWSErrorCode(), Message: c.AWSMessage(), Status: c.AWSHTTPStatus(), Sender: c.AWSSenderFault()}
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
		if !f.Sender {
			f.Status = http.StatusInternalServerError
		}
	}
	f.Type = shapeName(svc, op, c)
	return f
}

// shapeName finds the error shape a code belongs to: the Go type's name when it is a
// shape with that code (generated exception types are named after their shape), then the
// operation's declared errors, then any error shape of the service.
func shapeName(svc *model.Service, op *model.Operation, c awserr.Coded) string {
	code := c.AWSErrorCode()
	if svc == nil {
		return code
	}
	t := reflect.TypeOf(c)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil {
		if sh := svc.Shapes[t.Name()]; sh != nil && sh.Exception && sh.ErrorCode() == code {
			return sh.Name
		}
	}
	if sh := svc.Shapes[code]; sh != nil && sh.Exception {
		return sh.Name
	}
	if op != nil {
		for _, sh := range op.Errors {
			if sh.ErrorCode() == code {
				return sh.Name
			}
		}
	}
	var names []string
	for n, sh := range svc.Shapes {
		if sh.Exception && sh.ErrorCode() == code {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return names[0]
	}
	return code
}

// Side is "Sender" or "Receiver", as query errors and x-amzn-query-error say.
func (f Fault) Side() string {
	if f.Sender {
		return "Sender"
	}
	return "Receiver"
}
