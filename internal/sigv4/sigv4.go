// Package sigv4 verifies AWS Signature Version 4 on the server side, as AWS does: requests
// signed in the Authorization header or by query parameters (presigned URLs), and S3 payloads
// sent as one signed or unsigned body or in aws-chunked form with chunk signatures and
// trailing checksums. Its errors carry the codes, statuses and messages AWS answers with,
// which differ between S3, the query-protocol services and the JSON-protocol services.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	terminator    = "aws4_request"
	amzDateFormat = "20060102T150405Z"
	maxExpires    = 7 * 24 * 60 * 60 // seconds; presigned URLs live at most a week

	// UnsignedPayload is the x-amz-content-sha256 value of an S3 payload that is not signed.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPayload is an aws-chunked payload whose every chunk is signed.
	StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingPayloadTrailer is a signed aws-chunked payload followed by signed trailers.
	StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedTrailer is an unsigned aws-chunked payload followed by a checksum trailer.
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Scope is what the credential scope of a request says, read without verifying anything; the
// gateway routes by its service and region before verifying.
type Scope struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
	Presigned   bool
	// SignatureVersion is "SigV4", or "SigV2" for S3 requests signed the legacy way (which
	// botocore still uses for S3 presigned URLs); CloudTrail records it for S3 calls.
	SignatureVersion string
}

// ReadScope reads the credential scope from the Authorization header or, for presigned URLs,
// the X-Amz-Credential query parameter. A request with neither gets an error matching
// ErrUnsigned; a malformed one an AWS error naming what is wrong.
func ReadScope(r *http.Request) (Scope, error) {
	a, err := parseAuth(r)
	if err != nil {
		return Scope{}, err
	}
	return a.scope, nil
}

// Verifier checks SigV4 signatures against the secrets of known access keys.
type Verifier struct {
	// Secret returns the secret access key for an access key id; ok is false if it is unknown.
	Secret func(ctx context.Context, accessKeyID string) (secret string, ok bool, err error)
	// VirtualHostBucket names the bucket of a virtual-hosted-style S3 request (bucket in the
	// Host), which SigV2 signs but the path does not carry; nil means path style only.
	VirtualHostBucket func(r *http.Request) (bucket string, ok bool)
	// Now is the server's clock (default time.Now).
	Now func() time.Time
	// MaxSkew is how far a header-signed request's time may be from Now (default 15 minutes).
	MaxSkew time.Duration

	mu   sync.Mutex
	keys map[keyID]*signingKey
}

type keyID struct{ secret, date, region, service string }

// Result is what verification learned of a request.
type Result struct {
	Scope
	// SignedHeaders are the lower-case header names the signature covers.
	SignedHeaders []string
	// SessionToken is X-Amz-Security-Token, for temporary credentials; the caller checks it.
	SessionToken string
	// PayloadHash is the payload hash that was signed: a hex SHA-256, UNSIGNED-PAYLOAD or a
	// STREAMING-* mode.
	PayloadHash string
	// Streaming is the aws-chunked mode of an S3 payload (one of the STREAMING-* constants), or "".
	Streaming string
	// Time is the request's signing time.
	Time time.Time

	family     family
	signingKey []byte
	signature  string // the request's signature: the seed of chunk signatures
	amzDate    string
	scopeStr   string
}

// Verify checks the request's signature. For services other than S3, body is the whole
// request body, already read by the caller. For S3 pass nil: the payload mode comes from
// x-amz-content-sha256 and Result.Body checks the payload while it is read.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (*Result, error) {
	a, err := parseAuth(r)
	if err != nil {
		return nil, err
	}
	if a.v2 {
		return v.verifyV2(ctx, r, a)
	}
	f := familyOf(a.scope.Service)
	if err := a.check(f); err != nil {
		return nil, err
	}
	t, err := a.time(r, f)
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(a, f, t); err != nil {
		return nil, err
	}
	if err := checkSignedHeaders(r, a, f); err != nil {
		return nil, err
	}

	var hashes []string
	streaming := ""
	if f == famS3 {
		h := r.Header.Get("X-Amz-Content-Sha256")
		switch {
		case h == "" && a.scope.Presigned:
			h = UnsignedPayload
		case h == "":
			return nil, errS3("InvalidRequest", http.StatusBadRequest,
				"Missing required header for this request: x-amz-content-sha256")
		case h == UnsignedPayload:
		case h == StreamingPayload || h == StreamingPayloadTrailer || h == StreamingUnsignedTrailer:
			if a.scope.Presigned {
				return nil, errBadContentSHA256()
			}
			streaming = h
		case strings.HasPrefix(h, "STREAMING-AWS4-ECDSA-P256-SHA256-"):
			return nil, errS3("NotImplemented", http.StatusNotImplemented,
				"A header you provided implies functionality that is not implemented: SigV4a streaming payloads")
		case !isSHA256Hex(h):
			return nil, errBadContentSHA256()
		}
		hashes = []string{h}
	} else {
		sum := sha256.Sum256(body)
		hashes = []string{hex.EncodeToString(sum[:])}
		if a.scope.Presigned && len(body) == 0 {
			// botocore presigns every service with UNSIGNED-PAYLOAD, aws-sdk-go-v2 with the
			// body's hash; only bodiless requests may leave it unsigned, so no body can be swapped.
			hashes = append(hashes, UnsignedPayload)
		}
	}

	secret, ok, err := v.Secret(ctx, a.scope.AccessKeyID)
	if err != nil {
		return nil, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	if !ok {
		return nil, errUnknownKey(f)
	}
	key := v.signingKey(secret, a.scope.Date, a.scope.Region, a.scope.Service)

	amzDate := t.UTC().Format(amzDateFormat)
	scopeStr := a.scope.Date + "/" + a.scope.Region + "/" + a.scope.Service + "/" + terminator
	query := canonicalQuery(r.URL.RawQuery, a.scope.Presigned)
	headers := canonicalHeaders(r, a.signedHeaders)
	signedList := strings.Join(a.signedHeaders, ";")
	want, err := hex.DecodeString(a.signature)
	if err != nil || len(want) != sha256.Size {
		return nil, errSignature(f)
	}
	matched := false
	var creqBuf []byte
	for _, uri := range canonicalURIs(r, f == famS3) {
		for _, ph := range hashes {
			b := append(creqBuf[:0], r.Method...)
			b = append(b, '\n')
			b = append(b, uri...)
			b = append(b, '\n')
			b = append(b, query...)
			b = append(b, '\n')
			b = append(b, headers...)
			b = append(b, '\n')
			b = append(b, signedList...)
			b = append(b, '\n')
			b = append(b, ph...)
			creqBuf = b
			creq := sha256.Sum256(b)
			sts := algorithm + "\n" + amzDate + "\n" + scopeStr + "\n" + hex.EncodeToString(creq[:])
			if hmac.Equal(key.sign(sts), want) {
				matched = true
			}
		}
	}
	if !matched {
		return nil, errSignature(f)
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if a.scope.Presigned {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	return &Result{
		Scope:         a.scope,
		SignedHeaders: a.signedHeaders,
		SessionToken:  token,
		PayloadHash:   hashes[0],
		Streaming:     streaming,
		Time:          t,
		family:        f,
		signingKey:    key.key,
		signature:     a.signature,
		amzDate:       amzDate,
		scopeStr:      scopeStr,
	}, nil
}

func (v *Verifier) checkTime(a *auth, f family, t time.Time) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC()
	skew := v.MaxSkew
	if skew <= 0 {
		skew = 15 * time.Minute
	}
	if a.scope.Presigned {
		if a.expires >= 0 && now.After(t.Add(time.Duration(a.expires)*time.Second)) {
			return errPresignExpired(f)
		}
		if t.After(now.Add(skew)) {
			if f == famS3 {
				return errS3("AccessDenied", http.StatusForbidden, "Request is not valid yet")
			}
			return errSkew(f, a.scope.Service, t, now, skew)
		}
		if a.expires < 0 && t.Before(now.Add(-skew)) {
			return errSkew(f, a.scope.Service, t, now, skew)
		}
		return nil
	}
	if t.Before(now.Add(-skew)) || t.After(now.Add(skew)) {
		return errSkew(f, a.scope.Service, t, now, skew)
	}
	return nil
}

// checkSignedHeaders enforces the headers a signature must cover: host always, and for S3
// every x-amz-* header the request carries.
func checkSignedHeaders(r *http.Request, a *auth, f family) error {
	signed := make(map[string]bool, len(a.signedHeaders))
	for _, h := range a.signedHeaders {
		signed[h] = true
	}
	if !signed["host"] {
		if f == famS3 {
			return errMalformed(f, a.scope.Presigned, "The authorization header is malformed; the host header must be signed.")
		}
		return errMalformed(f, a.scope.Presigned, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if f != famS3 {
		return nil
	}
	var unsigned []string
	for name := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-") && !signed[l] {
			unsigned = append(unsigned, l)
		}
	}
	if len(unsigned) > 0 {
		return errS3("AccessDenied", http.StatusForbidden, "There were headers present in the request which were not signed")
	}
	return nil
}

// signingKey is a derived SigV4 key with an HMAC under it whose padded key blocks are
// already hashed: signing with a clone of it costs two hash blocks less than hmac.New.
type signingKey struct {
	key []byte
	mac hash.Hash // shared: only ever cloned, never written
}

func (v *Verifier) signingKey(secret, date, region, service string) *signingKey {
	id := keyID{secret, date, region, service}
	v.mu.Lock()
	k, ok := v.keys[id]
	v.mu.Unlock()
	if ok {
		return k
	}
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, terminator)
	mac := hmac.New(sha256.New, key)
	mac.Reset() // precomputes the inner and outer pad states
	k = &signingKey{key: key, mac: mac}
	v.mu.Lock()
	if v.keys == nil || len(v.keys) >= 4096 {
		v.keys = make(map[keyID]*signingKey)
	}
	v.keys[id] = k
	v.mu.Unlock()
	return k
}

// sign is HMAC-SHA256(k, data).
func (k *signingKey) sign(data string) []byte {
	if c, ok := k.mac.(hash.Cloner); ok {
		if m, err := c.Clone(); err == nil {
			_, _ = io.WriteString(m, data)
			return m.Sum(nil)
		}
	}
	return hmacSHA256(k.key, data)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// auth is the signature information of a request, parsed but not checked.
type auth struct {
	scope         Scope
	algorithm     string
	terminator    string
	signedHeaders []string
	signature     string
	expires       int64 // presigned lifetime in seconds; -1 when absent
	amzDate       string
	raw           string // the Authorization header, for messages
	v2            bool   // S3 signature version 2
}

// parseAuth reads the Authorization header or the presigned query parameters.
func parseAuth(r *http.Request) (*auth, error) {
	var q url.Values // nil for the usual request without a query: no map to build
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	presigned := q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "AWS ") {
		return parseV2Header(h)
	}
	if !presigned && q.Has("AWSAccessKeyId") && q.Has("Signature") {
		return parseV2Query(q)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if presigned {
			if guessFamily(r) == famS3 || strings.Contains(h, "/s3/") {
				return nil, errS3("InvalidArgument", http.StatusBadRequest,
					"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
			}
			return nil, errMalformed(famJSON, false, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
		}
		return parseHeader(r, h)
	}
	if presigned {
		return parseQuery(r, q)
	}
	return nil, errUnsigned()
}

// guessFamily picks the error family of a request whose credential scope cannot be read:
// only S3 clients send x-amz-content-sha256.
func guessFamily(r *http.Request) family {
	if r.Header.Get("X-Amz-Content-Sha256") != "" {
		return famS3
	}
	return famJSON
}

func parseHeader(r *http.Request, h string) (*auth, error) {
	a := &auth{expires: -1, raw: h}
	a.scope.SignatureVersion = "SigV4"
	alg, rest, _ := strings.Cut(h, " ")
	a.algorithm = alg
	if alg != algorithm {
		if guessFamily(r) == famS3 {
			return nil, errS3("InvalidRequest", http.StatusBadRequest,
				"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
		}
		return nil, errMalformed(famJSON, false, "Unsupported AWS 'algorithm': '"+alg+"'.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred, haveCred = val, true
		case "SignedHeaders":
			signed, haveSigned = val, true
		case "Signature":
			sig, haveSig = val, true
		}
	}
	if haveCred {
		if err := a.parseCredential(cred); err != nil {
			return nil, err
		}
	}
	f := guessFamily(r)
	if a.scope.Service != "" {
		f = familyOf(a.scope.Service)
	}
	if !haveCred || !haveSigned || !haveSig {
		var msg []string
		if f == famS3 {
			return nil, errMalformed(f, false, "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.")
		}
		if !haveCred {
			msg = append(msg, "Authorization header requires 'Credential' parameter.")
		}
		if !haveSig {
			msg = append(msg, "Authorization header requires 'Signature' parameter.")
		}
		if !haveSigned {
			msg = append(msg, "Authorization header requires 'SignedHeaders' parameter.")
		}
		msg = append(msg, "Authorization="+h)
		return nil, errMalformed(f, false, strings.Join(msg, " "))
	}
	if a.scope.AccessKeyID == "" || a.scope.Service == "" {
		if f == famS3 {
			return nil, errMalformed(f, false, `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
		}
		return nil, errMalformed(f, false, "Credential should be scoped to a valid region, not ''. ")
	}
	a.signedHeaders = strings.Split(signed, ";")
	a.signature = sig
	a.amzDate = r.Header.Get("X-Amz-Date")
	return a, nil
}

func parseQuery(r *http.Request, q map[string][]string) (*auth, error) {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	a := &auth{expires: -1}
	a.scope.Presigned = true
	a.scope.SignatureVersion = "SigV4"
	cred, haveCred := get("X-Amz-Credential")
	if haveCred {
		if err := a.parseCredential(cred); err != nil {
			return nil, err
		}
	}
	f := guessFamily(r)
	if a.scope.Service != "" {
		f = familyOf(a.scope.Service)
	}
	alg, haveAlg := get("X-Amz-Algorithm")
	sig, haveSig := get("X-Amz-Signature")
	signed, haveSigned := get("X-Amz-SignedHeaders")
	date, haveDate := get("X-Amz-Date")
	exp, haveExp := get("X-Amz-Expires")
	if f == famS3 {
		if !haveAlg || !haveCred || !haveSig || !haveDate || !haveSigned || !haveExp {
			return nil, errMalformed(f, true, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
		if alg != algorithm {
			return nil, errMalformed(f, true, `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
		}
	} else {
		if !haveAlg || !haveCred || !haveSig || !haveDate || !haveSigned {
			return nil, errMalformed(f, true, "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.")
		}
		if alg != algorithm {
			return nil, errMalformed(f, true, "Unsupported AWS 'algorithm': '"+alg+"'.")
		}
	}
	if a.scope.AccessKeyID == "" || a.scope.Service == "" {
		if f == famS3 {
			return nil, errMalformed(f, true, `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
		}
		return nil, errMalformed(f, true, "Credential should be scoped to a valid region, not ''. ")
	}
	a.algorithm = alg
	if haveExp {
		n, err := strconv.ParseInt(exp, 10, 64)
		switch {
		case err != nil:
			return nil, errMalformed(f, true, "X-Amz-Expires should be a number")
		case n < 0:
			return nil, errMalformed(f, true, "X-Amz-Expires must be non-negative")
		case n > maxExpires:
			return nil, errMalformed(f, true, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		a.expires = n
	}
	a.signedHeaders = strings.Split(signed, ";")
	a.signature = sig
	a.amzDate = date
	return a, nil
}

// parseCredential splits AKID/YYYYMMDD/region/service/aws4_request. A credential with the
// wrong number of parts leaves the scope empty, and the caller reports it malformed.
func (a *auth) parseCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return nil
	}
	a.scope.AccessKeyID = parts[0]
	a.scope.Date = parts[1]
	a.scope.Region = parts[2]
	a.scope.Service = parts[3]
	a.terminator = parts[4]
	return nil
}

// check validates the parts of the credential scope that parsing left unchecked.
func (a *auth) check(f family) error {
	s := a.scope
	if f == famS3 {
		prefix := "The authorization header is malformed; "
		if s.Presigned {
			prefix = "Error parsing the X-Amz-Credential parameter; "
		}
		switch {
		case a.terminator != terminator:
			return errMalformed(f, s.Presigned, prefix+"incorrect terminal \""+a.terminator+"\". This endpoint uses \"aws4_request\".")
		case !validRegion(s.Region):
			return errMalformed(f, s.Presigned, prefix+"the region '"+s.Region+"' is wrong; expecting 'us-east-1'")
		case !validDate(s.Date):
			return errMalformed(f, s.Presigned, prefix+"incorrect date format \""+s.Date+"\". This date in the credential must be in the format \"yyyyMMdd\".")
		}
		return nil
	}
	switch {
	case a.terminator != terminator:
		return errMalformed(f, s.Presigned, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+a.terminator+"'.")
	case !validRegion(s.Region):
		return errMalformed(f, s.Presigned, "Credential should be scoped to a valid region, not '"+s.Region+"'. ")
	case !validDate(s.Date):
		return errMalformed(f, s.Presigned, "Date must be in ISO-8601 'basic format'. Got '"+s.Date+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	return nil
}

// time reads the signing time: X-Amz-Date (query parameter when presigned), else the Date
// header, and checks that the credential scope names the same day.
func (a *auth) time(r *http.Request, f family) (time.Time, error) {
	var t time.Time
	var err error
	switch {
	case a.amzDate != "":
		t, err = time.Parse(amzDateFormat, a.amzDate)
		if err != nil {
			switch {
			case f == famS3 && a.scope.Presigned:
				return t, errMalformed(f, true, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
			case f == famS3:
				return t, errS3("AccessDenied", http.StatusForbidden, "AWS authentication requires a valid Date or x-amz-date header")
			}
			return t, errMalformed(f, a.scope.Presigned, "Date must be in ISO-8601 'basic format'. Got '"+a.amzDate+"'. See http://en.wikipedia.org/wiki/ISO_8601")
		}
	case !a.scope.Presigned && r.Header.Get("Date") != "":
		t, err = http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			if f == famS3 {
				return t, errS3("AccessDenied", http.StatusForbidden, "AWS authentication requires a valid Date or x-amz-date header")
			}
			return t, errMalformed(f, false, "Date must be in ISO-8601 'basic format'. Got '"+r.Header.Get("Date")+"'. See http://en.wikipedia.org/wiki/ISO_8601")
		}
	default:
		if f == famS3 {
			return t, errS3("AccessDenied", http.StatusForbidden, "AWS authentication requires a valid Date or x-amz-date header")
		}
		return t, errMalformed(f, false, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+a.raw)
	}
	t = t.UTC()
	if day := t.Format("20060102"); day != a.scope.Date {
		if f == famS3 {
			prefix := "The authorization header is malformed; "
			if a.scope.Presigned {
				prefix = "Error parsing the X-Amz-Credential parameter; "
			}
			return t, errMalformed(f, a.scope.Presigned, prefix+"Invalid credential date \""+a.scope.Date+"\". This date is not the same as X-Amz-Date: \""+day+"\".")
		}
		return t, errMalformed(f, a.scope.Presigned, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
			a.scope.Date+"' != '"+day+"', from '"+t.Format(amzDateFormat)+"'.")
	}
	return t, nil
}

func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}
