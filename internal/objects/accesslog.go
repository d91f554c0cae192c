package objects

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
	"github.com/bannin/bannin/internal/wire/s3"
)

// Server access logging. Every S3 call through the gateway is recorded as a CloudTrail
// record on the stream; the access log consumer turns the records of calls on buckets with
// logging enabled into server access log records and keeps them, in the store, until
// deliverAccessLogs writes them as log objects into the target buckets.
//
//	s3log.pending   <stream seq, 20 digits>   one log record waiting for delivery
const (
	logPendingBucket = "s3log.pending"
	// logConsumer names the access log consumer's stream checkpoint.
	logConsumer = "objects.access-logs"
	// logMaxLines is how many records a log object holds at most; that many pending records
	// for one log object are delivered without waiting for the interval.
	logMaxLines = 1000
	// logDeliveryPrincipal is the service that writes log objects, as in a bucket policy
	// that lets S3 deliver server access logs.
	logDeliveryPrincipal = "logging.s3.amazonaws.com"
)

// pendingLog is a log record waiting for delivery, with where it goes.
type pendingLog struct {
	// Queued is when the record was queued, by the service's clock.
	Queued time.Time `json:"queued"`
	// Event is when the request was made.
	Event time.Time `json:"event"`
	// Target, Prefix and the key format are the source bucket's logging configuration at
	// the time of the request.
	Target      string `json:"target"`
	Prefix      string `json:"prefix,omitempty"`
	Partitioned bool   `json:"partitioned,omitempty"`
	DateSource  string `json:"dateSource,omitempty"`
	// Account, Region and Bucket are the source bucket's.
	Account string `json:"account"`
	Region  string `json:"region"`
	Bucket  string `json:"bucket"`
	Line    string `json:"line"`
}

// s3Source is in every S3 call's record (its eventSource).
var s3Source = []byte("s3.amazonaws.com")

// Consumers returns the access log consumer, which needs Options.Store.
func (s *Service) Consumers() []stream.Consumer {
	if s.opts.Store == nil {
		return nil
	}
	return []stream.Consumer{{Name: logConsumer, Kinds: []string{store.KindAPICall}, Batch: 500,
		Handle: s.queueAccessLogs}}
}

// queueAccessLogs keeps the log records of the calls on buckets that have logging enabled.
// The records and the consumer's checkpoint commit together, so that a restart neither
// loses nor repeats them; a record that comes again is stored under the same key. Batches
// without such calls take no write transaction.
func (s *Service) queueAccessLogs(ctx context.Context, entries []store.Entry) error {
	now := s.opts.Clock().UTC()
	type queued struct {
		key string
		log pendingLog
	}
	var logs []queued
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		buckets := map[string]*bucketRef{}
		for _, e := range entries {
			// Most calls are not S3's: skip them before decoding the record.
			if !bytes.Contains(e.Payload, s3Source) {
				continue
			}
			var r audit.Record
			if err := json.Unmarshal(e.Payload, &r); err != nil || r.EventSource != "s3.amazonaws.com" {
				continue
			}
			params, _ := r.RequestParameters.(map[string]any)
			name, _ := params["bucketName"].(string)
			if name == "" {
				continue
			}
			b, seen := buckets[name]
			if !seen {
				var err error
				if b, err = findBucket(ctx, tx, name); err != nil {
					return err
				}
				buckets[name] = b
			}
			if b == nil || b.cfg.Logging == nil {
				continue
			}
			line, at, err := accessLogLine(ctx, tx, b, &r, params)
			if err != nil {
				return err
			}
			if at.Before(b.cfg.LoggingSince.Truncate(time.Second)) {
				continue // made before logging was turned on (a new consumer reads old entries)
			}
			l := b.cfg.Logging
			p := pendingLog{Queued: now, Event: at, Target: str(l.TargetBucket), Prefix: str(l.TargetPrefix),
				Account: b.res.Account, Region: b.cfg.Region, Bucket: name, Line: line}
			if f := l.TargetObjectKeyFormat; f != nil && f.PartitionedPrefix != nil {
				p.Partitioned, p.DateSource = true, str(f.PartitionedPrefix.PartitionDateSource)
			}
			logs = append(logs, queued{key: fmt.Sprintf("%020d", e.Seq), log: p})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("objects: queue access logs: %w", err)
	}
	if len(logs) == 0 {
		return nil
	}
	err = s.opts.Store.Update(ctx, func(tx store.Tx) error {
		for _, q := range logs {
			if err := putJSON(ctx, tx, logPendingBucket, q.key, q.log); err != nil {
				return err
			}
		}
		return tx.SetCheckpoint(ctx, logConsumer, entries[len(entries)-1].Seq)
	})
	if err != nil {
		return fmt.Errorf("objects: queue access logs: %w", err)
	}
	return nil
}

// logTimeFormat is the time format of a log record: [06/Feb/2019:00:00:38 +0000].
const logTimeFormat = "02/Jan/2006:15:04:05 -0700"

// accessLogLine formats the server access log record of the call r recorded on bucket b
// (see "Amazon S3 server access log format"). What the CloudTrail record does not say
// (timings, referer, response sizes other than an object's) is "-".
func accessLogLine(ctx context.Context, tx store.ReadTx, b *bucketRef, r *audit.Record, params map[string]any) (string, time.Time, error) {
	at, err := time.Parse(audit.TimeFormat, r.EventTime)
	if err != nil {
		at = time.Time{}
	}
	op := s3Operations()[r.EventName]
	key, _ := params["key"].(string)
	versionID, _ := params["versionId"].(string)
	operation := "REST.-.-"
	status := 200
	if op != nil {
		operation = logOperationName(op)
		if op.ResponseCode != 0 {
			status = op.ResponseCode
		}
	}
	if r.ErrorCode != "" {
		status = errorStatus(r.ErrorCode)
	}
	sent, size := "-", "-"
	if r.ErrorCode == "" && key != "" && op != nil {
		switch op.Name {
		case "GetObject", "HeadObject", "PutObject", "CopyObject", "CompleteMultipartUpload":
			m, err := lookup(ctx, tx, b, key, versionID)
			if err != nil {
				return "", at, err
			}
			if m != nil && !m.DeleteMarker {
				size = strconv.FormatInt(m.Size, 10)
				if op.Name == "GetObject" && m.Size > 0 {
					sent = size
				}
			}
		}
	}
	requester := "-"
	switch u := r.UserIdentity; u.Type {
	case "Root":
		requester = CanonicalUserID(u.AccountID)
	case "AWSService":
		requester = "svc:" + u.InvokedBy
	case "":
	default:
		if u.ARN != "" {
			requester = u.ARN
		}
	}
	host, _ := params["Host"].(string)
	cipher, tlsVersion := "-", "-"
	if t := r.TLSDetails; t != nil {
		cipher, tlsVersion = dash(t.CipherSuite), dash(t.TLSVersion)
		if t.ClientProvidedHostHeader != "" {
			host = t.ClientProvidedHostHeader
		}
	}
	sig, auth := "SigV4", "AuthHeader"
	if requester == "-" {
		sig, auth = "-", "-"
	}
	fields := []string{
		b.cfg.Owner,
		b.name(),
		"[" + at.UTC().Format(logTimeFormat) + "]",
		dash(r.SourceIPAddress),
		requester,
		dash(r.RequestID),
		operation,
		dash(escapeKey(key)),
		quote(requestURI(op, b.name(), key, params)),
		strconv.Itoa(status),
		dash(r.ErrorCode),
		sent,
		size,
		"-", // total time
		"-", // turn-around time
		quote("-"),
		quote(dash(r.UserAgent)),
		dash(versionID),
		dash(r.RequestID), // host id: bannin answers x-amz-id-2 with the request ID
		sig,
		cipher,
		auth,
		dash(host),
		tlsVersion,
		"-", // access point ARN
		"-", // aclRequired
	}
	return strings.Join(fields, " "), at, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// quote writes a quoted log field; quotes inside it are escaped.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// escapeKey URL-encodes an object key as log records show it, keeping its slashes.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

var (
	s3OpsOnce sync.Once
	s3Ops     map[string]*model.Operation
)

// s3Operations maps CloudTrail event names of S3 to the operations of the S3 model.
func s3Operations() map[string]*model.Operation {
	s3OpsOnce.Do(func() {
		s3Ops = map[string]*model.Operation{}
		for _, op := range s3.Model().OperationList {
			s3Ops[audit.EventName("s3", op.Name)] = op
		}
	})
	return s3Ops
}

// logOperations are the resource types of operations whose log name does not follow from
// the request URI's subresource.
var logOperations = map[string]string{
	"CopyObject":              "OBJECT",
	"UploadPart":              "PART",
	"UploadPartCopy":          "PART",
	"CreateMultipartUpload":   "UPLOADS",
	"CompleteMultipartUpload": "UPLOAD",
	"AbortMultipartUpload":    "UPLOAD",
	"ListParts":               "UPLOAD",
	"ListMultipartUploads":    "UPLOADS",
	"DeleteObjects":           "MULTI_OBJECT_DELETE",
	"ListObjectVersions":      "BUCKETVERSIONS",
	"GetBucketPolicy":         "BUCKETPOLICY",
	"PutBucketPolicy":         "BUCKETPOLICY",
	"DeleteBucketPolicy":      "BUCKETPOLICY",
	"GetBucketLogging":        "LOGGING_STATUS",
	"PutBucketLogging":        "LOGGING_STATUS",
	"GetObjectTagging":        "OBJECT_TAGGING",
	"PutObjectTagging":        "OBJECT_TAGGING",
	"DeleteObjectTagging":     "OBJECT_TAGGING",
}

// logOperationName is a log record's operation: REST.<HTTP method>.<resource type>, with
// COPY as the method of copies (REST.COPY.OBJECT, REST.COPY.PART).
func logOperationName(op *model.Operation) string {
	method := op.Method
	if op.Name == "CopyObject" || op.Name == "UploadPartCopy" {
		method = "COPY"
	}
	return "REST." + method + "." + logOperation(op)
}

// logOperation is the resource type part of a log record's operation (REST.GET.VERSIONING):
// OBJECT or BUCKET, or the request's subresource in upper case.
func logOperation(op *model.Operation) string {
	if t, ok := logOperations[op.Name]; ok {
		return t
	}
	path, query, _ := strings.Cut(op.RequestURI, "?")
	for _, q := range strings.Split(query, "&") {
		if q != "" && !strings.Contains(q, "=") {
			return upperSnake(q)
		}
	}
	if strings.Contains(path, "{Key") {
		return "OBJECT"
	}
	return "BUCKET"
}

// upperSnake turns a subresource name (publicAccessBlock, object-lock) into a log
// operation's form (PUBLIC_ACCESS_BLOCK, OBJECT_LOCK).
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '-':
			b.WriteByte('_')
		case unicode.IsUpper(r) && i > 0:
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// requestURI rebuilds the request line of a call in path style: method, path with the
// subresource and the version, upload and part parameters, protocol.
func requestURI(op *model.Operation, bucket, key string, params map[string]any) string {
	if op == nil {
		return "-"
	}
	u := "/" + bucket
	if key != "" {
		u += "/" + escapeKey(key)
	}
	var q []string
	_, query, _ := strings.Cut(op.RequestURI, "?")
	for _, p := range strings.Split(query, "&") {
		if p != "" && !strings.HasPrefix(p, "x-id=") {
			q = append(q, p)
		}
	}
	for _, name := range []string{"versionId", "uploadId", "partNumber", "prefix", "delimiter", "max-keys"} {
		switch v := params[name].(type) {
		case string:
			q = append(q, name+"="+url.QueryEscape(v))
		case float64:
			q = append(q, name+"="+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return op.Method + " " + u + " HTTP/1.1"
}

// errorStatuses are the HTTP statuses of S3 error codes that are not 400 Bad Request.
var errorStatuses = map[string]int{
	// 304
	"NotModified": 304,
	// 403
	"AccessDenied":                    403,
	"AccountProblem":                  403,
	"AllAccessDisabled":               403,
	"CrossLocationLoggingProhibitted": 403,
	"InvalidAccessKeyId":              403,
	"InvalidObjectState":              403,
	"RequestTimeTooSkewed":            403,
	"SignatureDoesNotMatch":           403,
	// 404
	"NoSuchBucket":                 404,
	"NotFound":                     404,
	"NoSuchKey":                    404,
	"NoSuchUpload":                 404,
	"NoSuchVersion":                404,
	"NoSuchBucketPolicy":           404,
	"NoSuchTagSet":                 404,
	"NoSuchLifecycleConfiguration": 404,
	"NoSuchCORSConfiguration":      404,
	"NoSuchWebsiteConfiguration":   404,
	"ServerSideEncryptionConfigurationNotFoundError": 404,
	"NoSuchPublicAccessBlockConfiguration":           404,
	"OwnershipControlsNotFoundError":                 404,
	"ObjectLockConfigurationNotFoundError":           404,
	// 405
	"MethodNotAllowed": 405,
	// 409
	"BucketAlreadyExists":     409,
	"BucketAlreadyOwnedByYou": 409,
	"BucketNotEmpty":          409,
	"OperationAborted":        409,
	"InvalidBucketState":      409,
	// 411
	"MissingContentLength": 411,
	// 412
	"PreconditionFailed": 412,
	// 416
	"InvalidRange": 416,
	// 500
	"InternalError": 500,
	// 501
	"NotImplemented": 501,
	// 503
	"ServiceUnavailable": 503,
	"SlowDown":           503,
}

func errorStatus(code string) int {
	if s, ok := errorStatuses[code]; ok {
		return s
	}
	return 400
}

// deliverAccessLogs writes the pending log records as log objects into their target
// buckets: those of a log object whose oldest record has waited for the delivery interval,
// and any log object that is full. It returns how many log objects it wrote. Records whose
// target bucket no longer exists are dropped, as S3 drops them.
func (s *Service) deliverAccessLogs(ctx context.Context, st store.Store) (int, error) {
	now := s.opts.Clock().UTC()
	type group struct {
		keys  []string
		logs  []pendingLog
		first time.Time
	}
	groups := map[string]*group{}
	err := st.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for {
			rows, err := tx.List(ctx, logPendingBucket, "", after, 1000)
			if err != nil {
				return err
			}
			for _, r := range rows {
				var p pendingLog
				if err := json.Unmarshal(r.Value, &p); err != nil {
					return fmt.Errorf("pending log %s: %w", r.Key, err)
				}
				g := p.Target + sep + p.Prefix + sep + p.Account + sep + p.Region + sep + p.Bucket
				if p.Partitioned {
					g += sep + p.DateSource
					if p.DateSource != "DeliveryTime" {
						g += sep + p.Event.UTC().Format("2006/01/02")
					}
				}
				grp := groups[g]
				if grp == nil {
					grp = &group{first: p.Queued}
					groups[g] = grp
				}
				grp.keys, grp.logs = append(grp.keys, r.Key), append(grp.logs, p)
				if p.Queued.Before(grp.first) {
					grp.first = p.Queued
				}
			}
			if len(rows) < 1000 {
				return nil
			}
			after = rows[len(rows)-1].Key
		}
	})
	if err != nil {
		return 0, fmt.Errorf("objects: deliver access logs: %w", err)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	written := 0
	for _, n := range names {
		g := groups[n]
		if now.Sub(g.first) < s.opts.LogInterval && len(g.logs) < logMaxLines {
			continue
		}
		for len(g.logs) > 0 {
			k := min(len(g.logs), logMaxLines)
			ok, err := s.deliverLogObject(ctx, st, now, g.keys[:k], g.logs[:k])
			if err != nil {
				return written, fmt.Errorf("objects: deliver access logs: %w", err)
			}
			if ok {
				written++
			}
			g.keys, g.logs = g.keys[k:], g.logs[k:]
		}
	}
	return written, nil
}

// logObjectKey is a log object's key: TargetPrefix + YYYY-mm-DD-HH-MM-SS-UniqueString, or
// with a partitioned prefix TargetPrefix + account/region/bucket/YYYY/mm/DD/ before it.
func logObjectKey(p pendingLog, delivered time.Time) string {
	u := make([]byte, 8)
	_, _ = rand.Read(u)
	name := delivered.UTC().Format("2006-01-02-15-04-05") + "-" + strings.ToUpper(hex.EncodeToString(u))
	if !p.Partitioned {
		return p.Prefix + name
	}
	day := p.Event
	if p.DateSource == "DeliveryTime" {
		day = delivered
	}
	return p.Prefix + p.Account + "/" + p.Region + "/" + p.Bucket + "/" + day.UTC().Format("2006/01/02") + "/" + name
}

// deliverLogObject writes one log object with the records of logs and removes them from
// the pending ones, in one transaction. It reports false when the target bucket is gone
// and the records were dropped.
func (s *Service) deliverLogObject(ctx context.Context, st store.Store, now time.Time, keys []string, logs []pendingLog) (bool, error) {
	var sb strings.Builder
	for _, l := range logs {
		sb.WriteString(l.Line)
		sb.WriteByte('\n')
	}
	data := []byte(sb.String())
	sum := md5.Sum(data)
	ref, err := s.storeBody(&body{data: data, size: int64(len(data)), md5: sum[:]})
	if err != nil {
		return false, err
	}
	delivered := false
	err = st.Update(ctx, func(tx store.Tx) error {
		delivered = false
		for _, k := range keys {
			// Another replica may have delivered them meanwhile.
			if v, err := tx.Get(ctx, logPendingBucket, k); err != nil || v == nil {
				return err
			}
		}
		for _, k := range keys {
			if err := tx.Delete(ctx, logPendingBucket, k); err != nil {
				return err
			}
		}
		t, err := findBucket(ctx, tx, logs[0].Target)
		if err != nil || t == nil || t.res.Account != logs[0].Account {
			// Gone, or since re-created by another account: the records are dropped.
			return err
		}
		c := &call.Call{Time: now, Service: "s3", Operation: "PutObject", Account: t.res.Account, Region: t.cfg.Region,
			Caller: call.Principal{Type: "AWSService", Account: t.res.Account, InvokedBy: logDeliveryPrincipal}, Tx: tx}
		sse, kms, bk := encryption(t, nil, nil, nil)
		m := &objectMeta{Key: logObjectKey(logs[0], now), Size: int64(len(data)), ETag: etagOf(sum[:]),
			LastModified: now, Owner: t.res.Account, ContentType: "text/plain", SSE: sse, SSEKMSKeyID: kms,
			BucketKeyEnabled: bk, Blobs: []blobRef{ref}}
		if err := s.write(ctx, tx, c, t, m); err != nil {
			return err
		}
		delivered = true
		return nil
	})
	if err != nil || !delivered {
		_ = s.blobs.Remove(ref.ID)
	}
	return delivered, err
}
