// Package awserr holds the errors that handlers, the gateway and codecs share. Codecs turn
// any Coded error into the wire shape of their protocol; handlers never format error bytes.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Coded is an error with an AWS error code. Generated exception types implement it too.
type Coded interface {
	error
	AWSErrorCode() string
	AWSHTTPStatus() int
	AWSMessage() string
	// AWSSenderFault is true for client errors (query protocols write <Type>Sender</Type>).
	AWSSenderFault() bool
}

// Error is an AWS error not described by a service model's error shapes.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string        { return e.Code + ": " + e.Message }
func (e *Error) AWSErrorCode() string { return e.Code }
func (e *Error) AWSHTTPStatus() int   { return e.Status }
func (e *Error) AWSMessage() string   { return e.Message }
func (e *Error) AWSSenderFault() bool { return e.Status < 500 }

// New returns an Error with a formatted message.
func New(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// NotImplemented is the answer of an operation that has no handler yet.
func NotImplemented(service, op string) *Error {
	return New("UnsupportedOperation", http.StatusNotImplemented,
		"%s operation %s is not supported by bannin yet", service, op)
}

// Internal wraps an unexpected failure; its detail stays in the server log, not the reply.
func Internal() *Error {
	return New("InternalFailure", http.StatusInternalServerError, "The request processing has failed because of an unknown error, exception or failure.")
}

// As finds the Coded error in err's chain.
func As(err error) (Coded, bool) {
	var c Coded
	if errors.As(err, &c) {
		return c, true
	}
	return nil, false
}
