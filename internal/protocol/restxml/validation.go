package restxml

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/httpbind"
)

// This file words invalid input as S3 does. The JSON and query services answer a model
// constraint violation with "1 validation error detected: Value ... at ... failed to
// satisfy constraint: ..." (ValidationException); S3 never does. It checks each header
// and parameter by itself and answers in its own words (InvalidArgument naming the header
// in ArgumentName and ArgumentValue, InvalidStorageClass, InvalidLocationConstraint...),
// and it validates XML bodies against its schema, so any bad value inside a body is
// MalformedXML and an absent body is MissingRequestBodyError.

// DetailedError is an AWS error with the extra elements S3 writes in its <Error> document
// (ArgumentName, ArgumentValue, StorageClassRequested, ...).
type DetailedError struct {
	awserr.Coded
	Details []Detail
}

// ErrorDetails implements Detailer.
func (e *DetailedError) ErrorDetails() []Detail { return e.Details }

// Unwrap returns the coded error.
func (e *DetailedError) Unwrap() error { return e.Coded }

// WithDetails adds name/value element pairs to err; pairs with an empty value are left out.
func WithDetails(err awserr.Coded, nameValues ...string) *DetailedError {
	d := &DetailedError{Coded: err}
	for i := 0; i+1 < len(nameValues); i += 2 {
		if nameValues[i+1] != "" {
			d.Details = append(d.Details, Detail{Name: nameValues[i], Value: nameValues[i+1]})
		}
	}
	return d
}

// MalformedXMLMessage is S3's message for a body that does not match its schema.
const MalformedXMLMessage = "The XML you provided was not well-formed or did not validate against our published schema"

// ValidationError translates a model validation failure (*model.ValidationError) or a
// binding that did not parse (*httpbind.BindingError) of an S3 operation into the error S3
// answers for it. It reports false for any other error, which the caller words itself.
// S3 stops at the first invalid input, so only the first violation is answered.
func ValidationError(op *model.Operation, err error) (error, bool) {
	var ve *model.ValidationError
	if errors.As(err, &ve) && len(ve.Violations) > 0 {
		return violation(op, ve.Violations[0]), true
	}
	var be *httpbind.BindingError
	if errors.As(err, &be) {
		return bindingError(be), true
	}
	return nil, false
}

// invalidArg is S3's InvalidArgument naming the header or parameter and its value.
func invalidArg(name, value, format string, args ...any) error {
	return WithDetails(awserr.New("InvalidArgument", http.StatusBadRequest, format, args...),
		"ArgumentName", name, "ArgumentValue", value)
}

// rawString is a decoded value as it travelled (ArgumentValue): a header list is joined
// back with commas.
func rawString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, rawString(e))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// violation is S3's answer to one violated model constraint.
func violation(op *model.Operation, v model.Violation) error {
	top := v.Top
	if top == nil {
		return awserr.New("MalformedXML", http.StatusBadRequest, MalformedXMLMessage)
	}
	value := rawString(v.Raw)
	switch top.Location {
	case "header", "headers":
		return headerViolation(top.ElementName(), value, v)
	case "querystring", "uri":
		return queryViolation(top.ElementName(), value, v)
	}
	// The body, which S3 checks against its XML schema.
	if v.Rule == model.RuleRequired && v.Member == top && op != nil && op.Input != nil && op.Input.Payload == top.Name {
		return awserr.New("MissingRequestBodyError", http.StatusBadRequest, "Request Body is empty")
	}
	if v.Rule == model.RuleLength && v.Member != nil && v.Member.Name == "Key" && top.Shape.Name == "Tagging" {
		// An empty tag key is well-formed XML; S3's tagging check refuses it.
		return awserr.New("InvalidTag", http.StatusBadRequest, "The TagKey you have provided is invalid")
	}
	if op != nil && op.Name == "CreateBucket" && v.Rule == model.RuleEnum && v.Member != nil && v.Member.Name == "LocationConstraint" {
		return WithDetails(awserr.New("InvalidLocationConstraint", http.StatusBadRequest, "The specified location-constraint is not valid"),
			"LocationConstraint", value)
	}
	return awserr.New("MalformedXML", http.StatusBadRequest, MalformedXMLMessage)
}

// headerEnumMessages are S3's messages for a header whose value is none it knows;
// S3 names the header in ArgumentName and the value in ArgumentValue.
var headerEnumMessages = map[string]string{
	"x-amz-acl":                    "", // S3 sends an empty message for a canned ACL it does not know
	"x-amz-server-side-encryption": "The encryption method specified is not supported",
	"x-amz-metadata-directive":     "Unknown metadata directive.",
	"x-amz-tagging-directive":      "Unknown tagging directive.",
	"x-amz-object-lock-mode":       "Unknown wormMode directive.",
	"x-amz-object-lock-legal-hold": "Legal Hold must be either of 'ON' or 'OFF'",
	"x-amz-object-attributes":      "Invalid attribute name specified.",
}

// headerViolation is S3's answer to a header that breaks a model constraint.
func headerViolation(name, value string, v model.Violation) error {
	lname := strings.ToLower(name)
	switch v.Rule {
	case model.RuleRequired:
		return awserr.New("InvalidRequest", http.StatusBadRequest, "Missing required header for this request: %s", lname)
	case model.RuleEnum:
		switch lname {
		case "x-amz-storage-class":
			return WithDetails(awserr.New("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid"),
				"StorageClassRequested", value)
		case "x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm":
			return awserr.New("InvalidRequest", http.StatusBadRequest, "Value for %s header is invalid.", lname)
		}
		if msg, ok := headerEnumMessages[lname]; ok {
			return invalidArg(lname, value, "%s", msg)
		}
		return invalidArg(lname, value, "Invalid value for header %s", lname)
	}
	return invalidArg(lname, value, "Invalid value for header %s", lname)
}

// queryViolation is S3's answer to a query parameter or URI label that breaks a model
// constraint.
func queryViolation(name, value string, v model.Violation) error {
	switch v.Rule {
	case model.RuleRequired:
		return invalidArg(name, "", "Missing required parameter %s", name)
	case model.RuleEnum:
		if name == "encoding-type" {
			return invalidArg(name, value, "Invalid Encoding Method specified in Request")
		}
		return invalidArg(name, value, "Invalid value for parameter %s", name)
	case model.RuleRange:
		if sh := v.Top.Shape; sh.Min != nil && sh.Max != nil {
			return invalidArg(name, value, "Argument %s must be an integer between %s and %s",
				name, strconv.FormatFloat(*sh.Min, 'f', -1, 64), strconv.FormatFloat(*sh.Max, 'f', -1, 64))
		}
	}
	return invalidArg(name, value, "Invalid value for parameter %s", name)
}

// bindingError is S3's answer to a header or parameter whose text is not of its type.
func bindingError(be *httpbind.BindingError) error {
	m := be.Member
	name := m.ElementName()
	sh := m.Shape
	if sh.Type == model.List && sh.Member != nil {
		sh = sh.Member.Shape
	}
	if m.Location == "header" {
		name = strings.ToLower(name)
	}
	switch sh.Type {
	case model.Integer, model.Long:
		if m.Location == "querystring" {
			return invalidArg(name, be.Value, "Provided %s not an integer or within integer range", name)
		}
		return invalidArg(name, be.Value, "Invalid value for %s: not an integer", name)
	case model.Timestamp:
		if name == "x-amz-object-lock-retain-until-date" {
			return invalidArg(name, be.Value, "The retain until date must be provided in ISO 8601 format")
		}
		return invalidArg(name, be.Value, "Invalid date format for %s", name)
	}
	return invalidArg(name, be.Value, "Invalid value for %s", name)
}
