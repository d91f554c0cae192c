// Package restxml is the codec of the rest-xml protocol as S3 speaks it: the operation is
// told by method and URI template (path-style or virtual-host-style buckets), members are
// bound to the path, query string and headers, and bodies are XML or raw payloads.
package restxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/fault"
	"github.com/bannin/bannin/internal/protocol/httpbind"
	"github.com/bannin/bannin/internal/protocol/treeconv"
	"github.com/bannin/bannin/internal/protocol/xmltree"
)

// Codec is the rest-xml codec.
type Codec struct{}

// New returns the rest-xml codec.
func New() Codec { return Codec{} }

// Name is "rest-xml".
func (Codec) Name() string { return "rest-xml" }

// HostBucket returns the bucket a virtual-host-style Host names: "<bucket>.s3.<anything>"
// or "<bucket>.localhost[:port]"; "" for path-style requests.
func HostBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if b, ok := strings.CutSuffix(host, ".localhost"); ok {
		return b
	}
	for _, marker := range []string{".s3.", ".s3-"} {
		if i := strings.Index(host, marker); i > 0 {
			return host[:i]
		}
	}
	return ""
}

// Path is the request's escaped path with a virtual-host bucket put in front.
func Path(r *http.Request) string {
	p := r.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	if b := HostBucket(r.Host); b != "" {
		return "/" + b + p
	}
	return p
}

func route(svc *model.Service, r *http.Request) (*model.Operation, map[string]string, error) {
	op, labels, err := httpbind.Match(svc, r.Method, Path(r), r.URL.Query(), r.Header)
	switch {
	case errors.Is(err, httpbind.ErrNoMethod):
		return nil, nil, awserr.New("MethodNotAllowed", http.StatusMethodNotAllowed,
			"The specified method is not allowed against this resource (%s %s).", r.Method, r.URL.Path)
	case err != nil:
		return nil, nil, awserr.New("NotImplemented", http.StatusNotImplemented,
			"A header or query you provided implies functionality that is not implemented (%s %s matches no %s operation).",
			r.Method, r.URL.RequestURI(), svc.Metadata.ServiceID)
	}
	return op, labels, nil
}

// Operation routes by method and requestUri template.
func (Codec) Operation(svc *model.Service, r *http.Request, body []byte) (*model.Operation, error) {
	op, _, err := route(svc, r)
	return op, err
}

// Malformed is the 400 of a body that does not parse or does not match the operation's
// schema. S3's message never says what is wrong, so neither does this one; err is kept
// for the server's logs (Unwrap).
func Malformed(err error) error {
	return &malformed{Coded: awserr.New("MalformedXML", http.StatusBadRequest, "%s", MalformedXMLMessage), cause: err}
}

type malformed struct {
	awserr.Coded
	cause error
}

func (m *malformed) Error() string { return m.Coded.Error() + " (" + m.cause.Error() + ")" }
func (m *malformed) Unwrap() error { return m.cause }

func invalidArgument(err error) error {
	return awserr.New("InvalidArgument", http.StatusBadRequest, "%v", err)
}

// DecodeRequest reads the bound members and the XML or raw payload.
func (Codec) DecodeRequest(svc *model.Service, op *model.Operation, r *http.Request, body []byte) (map[string]any, error) {
	in := map[string]any{}
	sh := op.Input
	if sh == nil {
		return in, nil
	}
	_, labels, err := httpbind.Match(svc, op.Method, Path(r), r.URL.Query(), r.Header)
	if err != nil {
		labels = map[string]string{}
	}
	if err := httpbind.DecodeBindings(sh, r, labels, in); err != nil {
		if s3err, ok := ValidationError(op, err); ok {
			return nil, s3err
		}
		return nil, invalidArgument(err)
	}
	if sh.Payload != "" {
		pm := sh.MemberByName(sh.Payload)
		switch {
		case pm == nil:
		case pm.IsStreaming():
			var rd io.Reader = bytes.NewReader(body)
			if body == nil {
				rd = r.Body
			}
			in[pm.Name] = Dechunk(r, rd)
		case pm.Shape.Type == model.Structure:
			if len(bytes.TrimSpace(body)) == 0 {
				break
			}
			root, err := xmltree.Parse(bytes.NewReader(body))
			if err != nil {
				return nil, Malformed(err)
			}
			if want := payloadRoot(pm); root.Name != want {
				// S3 validates the document against its schema, whose root is fixed.
				return nil, Malformed(fmt.Errorf("root element <%s>, want <%s>", root.Name, want))
			}
			v, err := xmltree.DecodeStruct(root, pm.Shape, pm.Name, nil)
			if err != nil {
				return nil, Malformed(err)
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
	if len(bytes.TrimSpace(body)) > 0 && hasBodyMembers(sh) {
		root, err := xmltree.Parse(bytes.NewReader(body))
		if err != nil {
			return nil, Malformed(err)
		}
		v, err := xmltree.DecodeStruct(root, sh, "", httpbind.Bound)
		if err != nil {
			return nil, Malformed(err)
		}
		for k, e := range v {
			in[k] = e
		}
	}
	return in, nil
}

// payloadRoot is the root element of a structure payload's document.
func payloadRoot(pm *model.Member) string {
	name := pm.LocationName
	if name == "" {
		name = pm.Shape.LocationName
	}
	if name == "" {
		name = pm.Name
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

func hasBodyMembers(sh *model.Shape) bool {
	for _, m := range sh.Members {
		if !httpbind.Bound(m) {
			return true
		}
	}
	return false
}

// Namespace is the XML namespace of svc's bodies (S3's "http://s3.amazonaws.com/doc/2006-03-01/").
func Namespace(svc *model.Service) string {
	if svc.Metadata.XMLNamespace != "" {
		return svc.Metadata.XMLNamespace
	}
	return "http://" + svc.Metadata.EndpointPrefix + ".amazonaws.com/doc/" + svc.Metadata.APIVersion + "/"
}

func setRequestID(h http.Header, requestID string) {
	if requestID != "" {
		h.Set("x-amz-request-id", requestID)
		h.Set("x-amz-id-2", requestID)
	}
}

// WriteResponse writes the bound headers and status and the XML, raw or streaming payload.
func (Codec) WriteResponse(w http.ResponseWriter, svc *model.Service, op *model.Operation, out map[string]any, requestID string) {
	h := w.Header()
	setRequestID(h, requestID)
	sh := op.Output
	status := httpbind.WriteBindings(h, sh, out, op.ResponseCode)
	if _, partial := out["ContentRange"]; partial && op.Name == "GetObject" && status == http.StatusOK {
		status = http.StatusPartialContent // the model has no status member for S3's ranged reads
	}
	if sh == nil || op.Method == http.MethodHead {
		if h.Get("Content-Length") == "" && op.Method != http.MethodHead {
			h.Set("Content-Length", "0")
		}
		w.WriteHeader(status)
		return
	}
	ns := Namespace(svc)
	var b bytes.Buffer
	if sh.Payload != "" {
		pm := sh.MemberByName(sh.Payload)
		v, ok := out[sh.Payload]
		switch {
		case pm == nil || !ok || v == nil:
			if h.Get("Content-Length") == "" {
				h.Set("Content-Length", "0")
			}
			w.WriteHeader(status)
			return
		case pm.Shape.Type == model.Structure:
			name := pm.LocationName
			if name == "" {
				name = pm.Shape.LocationName
			}
			if name == "" {
				name = pm.Shape.Name
			}
			b.WriteString(xml.Header)
			attrs := ` xmlns="` + ns + `"`
			if pm.XMLNamespace != nil && pm.XMLNamespace.URI != "" && pm.XMLNamespace.Prefix == "" {
				attrs = ` xmlns="` + pm.XMLNamespace.URI + `"`
			}
			xmltree.WriteElement(&b, name, pm, v, attrs)
		default:
			if rd, ok := v.(io.Reader); ok {
				if c, ok := v.(io.Closer); ok {
					defer c.Close()
				}
				w.WriteHeader(status)
				_, _ = io.Copy(w, rd)
				return
			}
			if bs, ok := treeconv.AsBytes(v); ok {
				b.Write(bs)
			}
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/octet-stream")
			}
		}
	} else if hasBodyMembers(sh) {
		b.WriteString(xml.Header)
		if op.Name == "GetBucketLocation" {
			// S3 answers the bare element, and every SDK has a customisation to read it.
			b.WriteString(`<LocationConstraint xmlns="` + ns + `">`)
			if s, ok := treeconv.AsString(out["LocationConstraint"]); ok {
				xmltree.Escape(&b, s)
			}
			b.WriteString("</LocationConstraint>")
		} else {
			root := sh.LocationName
			if root == "" {
				root = rootName(op.Name)
			}
			b.WriteString("<" + root + ` xmlns="` + ns + `">`)
			xmltree.WriteMembers(&b, sh, out, httpbind.Bound)
			b.WriteString("</" + root + ">")
		}
	}
	if b.Len() > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/xml")
	}
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// s3Roots names the root element S3 answers for the operations whose output shape
// botocore's model leaves unnamed (Smithy's @xmlName, as the S3 API Reference's response
// syntax shows). SDKs that parse by element path, such as the AWS SDK for Java 1.x, need them.
var s3Roots = map[string]string{
	"CreateMultipartUpload":                      "InitiateMultipartUploadResult",
	"DeleteObjects":                              "DeleteResult",
	"GetBucketAccelerateConfiguration":           "AccelerateConfiguration",
	"GetBucketAcl":                               "AccessControlPolicy",
	"GetBucketCors":                              "CORSConfiguration",
	"GetBucketLifecycle":                         "LifecycleConfiguration",
	"GetBucketLifecycleConfiguration":            "LifecycleConfiguration",
	"GetBucketLogging":                           "BucketLoggingStatus",
	"GetBucketNotification":                      "NotificationConfiguration",
	"GetBucketNotificationConfiguration":         "NotificationConfiguration",
	"GetBucketRequestPayment":                    "RequestPaymentConfiguration",
	"GetBucketTagging":                           "Tagging",
	"GetBucketVersioning":                        "VersioningConfiguration",
	"GetBucketWebsite":                           "WebsiteConfiguration",
	"GetObjectAcl":                               "AccessControlPolicy",
	"GetObjectAttributes":                        "GetObjectAttributesResponse",
	"GetObjectTagging":                           "Tagging",
	"ListBucketAnalyticsConfigurations":          "ListBucketAnalyticsConfigurationResult",
	"ListBucketIntelligentTieringConfigurations": "ListBucketIntelligentTieringConfigurationsOutput",
	"ListBucketInventoryConfigurations":          "ListInventoryConfigurationsResult",
	"ListBucketMetricsConfigurations":            "ListMetricsConfigurationsResult",
	"ListBuckets":                                "ListAllMyBucketsResult",
	"ListDirectoryBuckets":                       "ListAllMyDirectoryBucketsResult",
	"ListObjectVersions":                         "ListVersionsResult",
	"ListObjects":                                "ListBucketResult",
	"ListObjectsV2":                              "ListBucketResult",
}

// rootName is the root element of op's response document: S3's name for it, or
// <Operation>Result (CompleteMultipartUploadResult, ListPartsResult, ...).
func rootName(op string) string {
	if r, ok := s3Roots[op]; ok {
		return r
	}
	return op + "Result"
}

// Detailer is implemented by errors that carry the elements S3 writes in its <Error>
// document after Message: BucketName for NoSuchBucket, Key for NoSuchKey, UploadId for
// NoSuchUpload, and so on (SDKs expose them, boto3 as e.response["Error"]["BucketName"]).
type Detailer interface {
	ErrorDetails() []Detail
}

// Detail is one extra element of an S3 <Error> document.
type Detail struct{ Name, Value string }

// WriteError writes S3's <Error> document (no body for HEAD operations).
func (Codec) WriteError(w http.ResponseWriter, svc *model.Service, op *model.Operation, err error, requestID string) {
	f := fault.From(svc, op, err)
	h := w.Header()
	setRequestID(h, requestID)
	if op != nil && op.Method == http.MethodHead {
		w.WriteHeader(f.Status)
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	xmltree.Escape(&b, f.Code)
	b.WriteString("</Code><Message>")
	xmltree.Escape(&b, f.Message)
	b.WriteString("</Message>")
	var d Detailer
	if errors.As(err, &d) {
		for _, e := range d.ErrorDetails() {
			b.WriteString("<" + e.Name + ">")
			xmltree.Escape(&b, e.Value)
			b.WriteString("</" + e.Name + ">")
		}
	}
	b.WriteString("<RequestId>")
	xmltree.Escape(&b, requestID)
	b.WriteString("</RequestId><HostId>")
	xmltree.Escape(&b, requestID)
	b.WriteString("</HostId></Error>")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(f.Status)
	_, _ = w.Write(b.Bytes())
}
