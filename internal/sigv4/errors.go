package sigv4

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/awserr"
)

// family is how a service's front end names its authentication errors: S3 has its own codes,
// the query-protocol services (STS, IAM, SNS, CloudWatch, EC2) use the "common errors" codes,
// and the JSON-protocol services answer with the *Exception codes of their Coral front end.
type family int

const (
	famJSON family = iota
	famQuery
	famS3
)

// queryServices are the signing names whose errors use the query-protocol codes.
var queryServices = map[string]bool{
	"sts": true, "iam": true, "sns": true, "monitoring": true, "ec2": true,
	"cloudformation": true, "sqs": true, "autoscaling": true, "elasticloadbalancing": true,
	"rds": true, "ses": true, "elasticache": true, "redshift": true,
}

func familyOf(service string) family {
	switch {
	case service == "s3":
		return famS3
	case queryServices[service]:
		return famQuery
	}
	return famJSON
}

// ErrUnsigned is matched (errors.Is) by the error ReadScope returns for a request that carries
// no SigV4 authentication at all, so that callers can serve anonymous routes.
var ErrUnsigned = errors.New("sigv4: request is not signed")

// unsignedError is the MissingAuthenticationToken error that also matches ErrUnsigned.
type unsignedError struct{ e *awserr.Error }

func (u unsignedError) Error() string        { return u.e.Error() }
func (u unsignedError) AWSErrorCode() string { return u.e.Code }
func (u unsignedError) AWSHTTPStatus() int   { return u.e.Status }
func (u unsignedError) AWSMessage() string   { return u.e.Message }
func (u unsignedError) AWSSenderFault() bool { return true }
func (u unsignedError) Is(target error) bool { return target == ErrUnsigned }

func errUnsigned() error {
	return unsignedError{awserr.New("MissingAuthenticationToken", http.StatusForbidden,
		"Request is missing Authentication Token")}
}

const sigMismatchMsg = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

const s3SigMismatchMsg = "The request signature we calculated does not match the signature you provided. Check your key and signing method."

// MissingAuthError is the AWS error for a request to service (a signing name, such as "s3"
// or "cloudtrail") that carries no signature, for callers that learn the service some other
// way than the credential scope: S3 answers AccessDenied, the others MissingAuthenticationToken.
func MissingAuthError(service string) error {
	switch familyOf(service) {
	case famS3:
		return awserr.New("AccessDenied", http.StatusForbidden, "Access Denied")
	case famQuery:
		return awserr.New("MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token")
	}
	return awserr.New("MissingAuthenticationTokenException", http.StatusBadRequest, "Missing Authentication Token")
}

// errMalformed is the answer to an Authorization header or query parameters that cannot be
// read; presigned selects S3's query-parameter error.
func errMalformed(f family, presigned bool, msg string) error {
	switch f {
	case famS3:
		if presigned {
			return awserr.New("AuthorizationQueryParametersError", http.StatusBadRequest, "%s", msg)
		}
		return awserr.New("AuthorizationHeaderMalformed", http.StatusBadRequest, "%s", msg)
	case famQuery:
		return awserr.New("IncompleteSignature", http.StatusBadRequest, "%s", msg)
	}
	return awserr.New("IncompleteSignatureException", http.StatusBadRequest, "%s", msg)
}

// UnknownKey reports whether err is the answer to an access key bannin does not know, in
// any protocol family's wording (see errUnknownKey).
func UnknownKey(err error) bool {
	ce, ok := awserr.As(err)
	if !ok {
		return false
	}
	switch ce.AWSErrorCode() {
	case "InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException":
		return true
	}
	return false
}

func errUnknownKey(f family) error {
	switch f {
	case famS3:
		return awserr.New("InvalidAccessKeyId", http.StatusForbidden,
			"The AWS Access Key Id you provided does not exist in our records.")
	case famQuery:
		return awserr.New("InvalidClientTokenId", http.StatusForbidden,
			"The security token included in the request is invalid.")
	}
	return awserr.New("UnrecognizedClientException", http.StatusBadRequest,
		"The security token included in the request is invalid.")
}

func errSignature(f family) error {
	switch f {
	case famS3:
		return awserr.New("SignatureDoesNotMatch", http.StatusForbidden, "%s", s3SigMismatchMsg)
	case famQuery:
		return awserr.New("SignatureDoesNotMatch", http.StatusForbidden, "%s", sigMismatchMsg)
	}
	return awserr.New("InvalidSignatureException", http.StatusBadRequest, "%s", sigMismatchMsg)
}

// errSkew is the answer to a header-signed request whose time is more than the allowed skew
// away from the server's clock.
func errSkew(f family, service string, t, now time.Time, skew time.Duration) error {
	if f == famS3 {
		return awserr.New("RequestTimeTooSkewed", http.StatusForbidden,
			"The difference between the request time and the current time is too large.")
	}
	if service == "ec2" {
		return awserr.New("RequestExpired", http.StatusBadRequest, "Request has expired.")
	}
	mins := int(skew / time.Minute)
	var msg string
	if t.Before(now) {
		msg = "Signature expired: " + t.Format(amzDateFormat) + " is now earlier than " +
			now.Add(-skew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " - " + itoa(mins) + " min.)"
	} else {
		msg = "Signature not yet current: " + t.Format(amzDateFormat) + " is still later than " +
			now.Add(skew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " + " + itoa(mins) + " min.)"
	}
	if f == famQuery {
		return awserr.New("SignatureDoesNotMatch", http.StatusForbidden, "%s", msg)
	}
	return awserr.New("InvalidSignatureException", http.StatusBadRequest, "%s", msg)
}

// errPresignExpired is the answer to a presigned URL used after X-Amz-Date + X-Amz-Expires.
func errPresignExpired(f family) error {
	switch f {
	case famS3:
		return awserr.New("AccessDenied", http.StatusForbidden, "Request has expired")
	case famQuery:
		return awserr.New("RequestExpired", http.StatusBadRequest, "Request has expired.")
	}
	return awserr.New("InvalidSignatureException", http.StatusBadRequest, "Signature expired.")
}

func errS3(code string, status int, msg string) error {
	return awserr.New(code, status, "%s", msg)
}

func errIncompleteBody() error {
	return errS3("IncompleteBody", http.StatusBadRequest,
		"You did not provide the number of bytes specified by the Content-Length HTTP header")
}

func errContentSHA256Mismatch() error {
	return errS3("XAmzContentSHA256Mismatch", http.StatusBadRequest,
		"The provided 'x-amz-content-sha256' header does not match what was computed.")
}

func errBadContentSHA256() error {
	return errS3("InvalidArgument", http.StatusBadRequest,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "+
			"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "+
			"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
}

func errBadDigest(algorithm string) error {
	return errS3("BadDigest", http.StatusBadRequest,
		"The "+strings.ToUpper(algorithm)+" you specified did not match the calculated checksum.")
}

func itoa(n int) string { return strconv.Itoa(n) }
