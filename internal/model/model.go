// Package model is the AWS service model at run time: the shapes, operations and
// metadata that botocore's service-2.json describes, loaded from the stripped copy
// that internal/apigen commits beside each generated wire package. Codecs, validation
// and the audit record all read it, so no protocol detail is written by hand per service.
package model

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Type is a shape's kind.
type Type uint8

// The shape types of the botocore model.
const (
	String Type = iota + 1
	Integer
	Long
	Float
	Double
	Boolean
	Timestamp
	Blob
	Structure
	List
	Map
)

var typeNames = map[string]Type{
	"string": String, "integer": Integer, "long": Long, "float": Float, "double": Double,
	"boolean": Boolean, "timestamp": Timestamp, "blob": Blob, "structure": Structure,
	"list": List, "map": Map,
}

func (t Type) String() string {
	for n, v := range typeNames {
		if v == t {
			return n
		}
	}
	return fmt.Sprintf("type(%d)", t)
}

// Service is one AWS service model.
type Service struct {
	// Name is the botocore directory name ("cloudtrail", "cloudtrail-data").
	Name     string
	Metadata Metadata
	// Operations by name; OperationList is the same, sorted by name.
	Operations    map[string]*Operation
	OperationList []*Operation
	Shapes        map[string]*Shape
}

// Metadata is the model's metadata block.
type Metadata struct {
	APIVersion         string   `json:"apiVersion"`
	EndpointPrefix     string   `json:"endpointPrefix"`
	SigningName        string   `json:"signingName"`
	Protocol           string   `json:"protocol"`
	Protocols          []string `json:"protocols"`
	JSONVersion        string   `json:"jsonVersion"`
	TargetPrefix       string   `json:"targetPrefix"`
	ServiceID          string   `json:"serviceId"`
	ServiceFullName    string   `json:"serviceFullName"`
	XMLNamespace       string   `json:"xmlNamespace"`
	AWSQueryCompatible bool     `json:"-"`
	UID                string   `json:"uid"`
	GlobalEndpoint     string   `json:"globalEndpoint"`
}

// SigningNameOrPrefix is the name that appears in SigV4 credential scopes.
func (m Metadata) SigningNameOrPrefix() string {
	if m.SigningName != "" {
		return m.SigningName
	}
	return m.EndpointPrefix
}

// Operation is one API operation.
type Operation struct {
	Name string
	// HTTP binding: method, request URI template (rest protocols) and success status.
	Method       string
	RequestURI   string
	ResponseCode int
	Input        *Shape // nil when the operation takes no input
	Output       *Shape // nil when it returns nothing
	// ResultWrapper names the element that wraps a query-protocol result.
	ResultWrapper string
	Errors        []*Shape
	AuthType      string // "", "none", "v4-unsigned-body"
	Deprecated    bool
	// HostPrefix is the endpoint host prefix template, if any.
	HostPrefix string
	// InputXMLName and InputXMLNamespace describe a rest-xml request body root element.
	InputXMLName      string
	InputXMLNamespace string
}

// Shape is a named type of the model.
type Shape struct {
	Name string
	Type Type
	// Members of a structure, in model order.
	Members []*Member
	// Member of a list; Key and Value of a map.
	Member     *Member
	Key, Value *Member
	Required   []string
	Enum       []string
	// Min and Max bound a string's or collection's length, or a number's value.
	Min, Max        *float64
	Pattern         string
	Sensitive       bool
	Streaming       bool
	EventStream     bool
	Document        bool
	Union           bool
	TimestampFormat string
	Flattened       bool
	LocationName    string
	XMLNamespace    *XMLNamespace
	// Payload names the member that is the whole HTTP body (rest protocols).
	Payload string
	// Exception is set on error shapes; Error holds their wire code and status.
	Exception bool
	Error     *ErrorInfo

	byName   map[string]*Member
	required map[string]bool
}

// Member is one member of a structure (or the element of a list or map).
type Member struct {
	Name  string
	Shape *Shape
	// Location is "", "header", "headers", "querystring", "uri" or "statusCode".
	Location         string
	LocationName     string
	QueryName        string
	Flattened        bool
	XMLAttribute     bool
	XMLNamespace     *XMLNamespace
	TimestampFormat  string
	IdempotencyToken bool
	HostLabel        bool
	JSONValue        bool
	EventPayload     bool
	Deprecated       bool
	// Streaming is set where the member, not its shape, is marked streaming (S3 bodies).
	Streaming bool
}

// IsStreaming reports whether the member's value is a stream.
func (m *Member) IsStreaming() bool { return m.Streaming || m.Shape.Streaming }

// XMLNamespace is an xmlNamespace trait.
type XMLNamespace struct {
	Prefix string `json:"prefix"`
	URI    string `json:"uri"`
}

// ErrorInfo is an error shape's wire code, HTTP status and fault.
type ErrorInfo struct {
	Code        string `json:"code"`
	HTTPStatus  int    `json:"httpStatusCode"`
	SenderFault bool   `json:"senderFault"`
}

// MemberByName returns the structure member called name, or nil.
func (s *Shape) MemberByName(name string) *Member { return s.byName[name] }

// IsRequired reports whether the structure member name is required.
func (s *Shape) IsRequired(name string) bool { return s.required[name] }

// ErrorCode is the code an error shape is sent with.
func (s *Shape) ErrorCode() string {
	if s.Error != nil && s.Error.Code != "" {
		return s.Error.Code
	}
	return s.Name
}

// ErrorStatus is the HTTP status an error shape is sent with.
func (s *Shape) ErrorStatus() int {
	if s.Error != nil && s.Error.HTTPStatus != 0 {
		return s.Error.HTTPStatus
	}
	return 400
}

// ElementName is the name a member is serialised under: its locationName if set.
func (m *Member) ElementName() string {
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

// raw forms of the botocore JSON.
type rawService struct {
	Metadata   json.RawMessage         `json:"metadata"`
	Operations map[string]rawOperation `json:"operations"`
	Shapes     map[string]rawShape     `json:"shapes"`
}

type rawRef struct {
	Shape            string        `json:"shape"`
	Location         string        `json:"location,omitempty"`
	LocationName     string        `json:"locationName,omitempty"`
	QueryName        string        `json:"queryName,omitempty"`
	Flattened        bool          `json:"flattened,omitempty"`
	XMLAttribute     bool          `json:"xmlAttribute,omitempty"`
	XMLNamespace     *XMLNamespace `json:"xmlNamespace,omitempty"`
	TimestampFormat  string        `json:"timestampFormat,omitempty"`
	IdempotencyToken bool          `json:"idempotencyToken,omitempty"`
	HostLabel        bool          `json:"hostLabel,omitempty"`
	JSONValue        bool          `json:"jsonvalue,omitempty"`
	EventPayload     bool          `json:"eventpayload,omitempty"`
	Deprecated       bool          `json:"deprecated,omitempty"`
	ResultWrapper    string        `json:"resultWrapper,omitempty"`
	Streaming        bool          `json:"streaming,omitempty"`
}

type rawOperation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode,omitempty"`
	} `json:"http"`
	Input      *rawRef  `json:"input,omitempty"`
	Output     *rawRef  `json:"output,omitempty"`
	Errors     []rawRef `json:"errors,omitempty"`
	AuthType   string   `json:"authtype,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
	Endpoint   *struct {
		HostPrefix string `json:"hostPrefix"`
	} `json:"endpoint,omitempty"`
}

type rawShape struct {
	Type            string            `json:"type"`
	Members         orderedMembers    `json:"members,omitempty"`
	Member          *rawRef           `json:"member,omitempty"`
	Key             *rawRef           `json:"key,omitempty"`
	Value           *rawRef           `json:"value,omitempty"`
	Required        []string          `json:"required,omitempty"`
	Enum            []string          `json:"enum,omitempty"`
	Min             *float64          `json:"min,omitempty"`
	Max             *float64          `json:"max,omitempty"`
	Pattern         string            `json:"pattern,omitempty"`
	Sensitive       bool              `json:"sensitive,omitempty"`
	Streaming       bool              `json:"streaming,omitempty"`
	EventStream     bool              `json:"eventstream,omitempty"`
	Document        bool              `json:"document,omitempty"`
	Union           bool              `json:"union,omitempty"`
	TimestampFormat string            `json:"timestampFormat,omitempty"`
	Flattened       bool              `json:"flattened,omitempty"`
	LocationName    string            `json:"locationName,omitempty"`
	XMLNamespace    *XMLNamespace     `json:"xmlNamespace,omitempty"`
	Payload         string            `json:"payload,omitempty"`
	Exception       bool              `json:"exception,omitempty"`
	Error           *ErrorInfo        `json:"error,omitempty"`
	Fault           bool              `json:"fault,omitempty"`
	Extra           map[string]string `json:"-"`
}

// orderedMembers keeps structure members in the order the model lists them.
type orderedMembers struct {
	names []string
	refs  map[string]rawRef
}

func (o *orderedMembers) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytesReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	o.refs = map[string]rawRef{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		var r rawRef
		if err := dec.Decode(&r); err != nil {
			return err
		}
		o.names = append(o.names, name)
		o.refs[name] = r
	}
	return nil
}

// openEnums are enum shapes whose service takes values outside the list: AWS Config takes
// third-party resource types (MyCompany::Server::Host, see PutResourceConfig) wherever it
// takes a ResourceType.
var openEnums = map[string]map[string]bool{"config": {"ResourceType": true}}

// Load parses a botocore service-2.json document (full or stripped of documentation).
func Load(name string, data []byte) (*Service, error) {
	var raw rawService
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("model: parse %s: %w", name, err)
	}
	svc := &Service{Name: name, Operations: map[string]*Operation{}, Shapes: map[string]*Shape{}}
	if err := json.Unmarshal(raw.Metadata, &svc.Metadata); err != nil {
		return nil, fmt.Errorf("model: %s metadata: %w", name, err)
	}
	var meta map[string]any
	_ = json.Unmarshal(raw.Metadata, &meta)
	if _, ok := meta["awsQueryCompatible"]; ok {
		svc.Metadata.AWSQueryCompatible = true
	}
	if len(svc.Metadata.Protocols) == 0 && svc.Metadata.Protocol != "" {
		svc.Metadata.Protocols = []string{svc.Metadata.Protocol}
	}
	for n, rs := range raw.Shapes {
		t, ok := typeNames[rs.Type]
		if !ok {
			return nil, fmt.Errorf("model: %s shape %s: unknown type %q", name, n, rs.Type)
		}
		svc.Shapes[n] = &Shape{Name: n, Type: t}
	}
	ref := func(where string, r *rawRef) (*Member, error) {
		if r == nil {
			return nil, nil
		}
		sh, ok := svc.Shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("model: %s %s: unknown shape %q", name, where, r.Shape)
		}
		return &Member{Shape: sh, Location: r.Location, LocationName: r.LocationName, QueryName: r.QueryName,
			Flattened: r.Flattened, XMLAttribute: r.XMLAttribute, XMLNamespace: r.XMLNamespace,
			TimestampFormat: r.TimestampFormat, IdempotencyToken: r.IdempotencyToken, HostLabel: r.HostLabel,
			JSONValue: r.JSONValue, EventPayload: r.EventPayload, Deprecated: r.Deprecated, Streaming: r.Streaming}, nil
	}
	for n, rs := range raw.Shapes {
		sh := svc.Shapes[n]
		sh.Required, sh.Enum, sh.Min, sh.Max, sh.Pattern = rs.Required, rs.Enum, rs.Min, rs.Max, rs.Pattern
		if openEnums[name][n] {
			sh.Enum = nil
		}
		sh.Sensitive, sh.Streaming, sh.EventStream, sh.Document, sh.Union = rs.Sensitive, rs.Streaming, rs.EventStream, rs.Document, rs.Union
		sh.TimestampFormat, sh.Flattened, sh.LocationName, sh.XMLNamespace = rs.TimestampFormat, rs.Flattened, rs.LocationName, rs.XMLNamespace
		sh.Payload, sh.Exception, sh.Error = rs.Payload, rs.Exception, rs.Error
		if sh.Exception && sh.Error == nil {
			sh.Error = &ErrorInfo{HTTPStatus: 400, SenderFault: !rs.Fault}
			if rs.Fault {
				sh.Error.HTTPStatus = 500
			}
		}
		sh.byName = map[string]*Member{}
		sh.required = map[string]bool{}
		for _, r := range rs.Required {
			sh.required[r] = true
		}
		for _, mn := range rs.Members.names {
			r := rs.Members.refs[mn]
			m, err := ref(n+"."+mn, &r)
			if err != nil {
				return nil, err
			}
			m.Name = mn
			sh.Members = append(sh.Members, m)
			sh.byName[mn] = m
		}
		var err error
		if sh.Member, err = ref(n+".member", rs.Member); err != nil {
			return nil, err
		}
		if sh.Key, err = ref(n+".key", rs.Key); err != nil {
			return nil, err
		}
		if sh.Value, err = ref(n+".value", rs.Value); err != nil {
			return nil, err
		}
	}
	for n, ro := range raw.Operations {
		op := &Operation{Name: n, Method: ro.HTTP.Method, RequestURI: ro.HTTP.RequestURI, ResponseCode: ro.HTTP.ResponseCode,
			AuthType: ro.AuthType, Deprecated: ro.Deprecated}
		if op.ResponseCode == 0 {
			op.ResponseCode = 200
		}
		if ro.Endpoint != nil {
			op.HostPrefix = ro.Endpoint.HostPrefix
		}
		if ro.Input != nil {
			op.Input = svc.Shapes[ro.Input.Shape]
			op.InputXMLName, op.InputXMLNamespace = ro.Input.LocationName, ""
			if ro.Input.XMLNamespace != nil {
				op.InputXMLNamespace = ro.Input.XMLNamespace.URI
			}
		}
		if ro.Output != nil {
			op.Output = svc.Shapes[ro.Output.Shape]
			op.ResultWrapper = ro.Output.ResultWrapper
		}
		for _, e := range ro.Errors {
			if es := svc.Shapes[e.Shape]; es != nil {
				op.Errors = append(op.Errors, es)
			}
		}
		svc.Operations[n] = op
		svc.OperationList = append(svc.OperationList, op)
	}
	sort.Slice(svc.OperationList, func(i, j int) bool { return svc.OperationList[i].Name < svc.OperationList[j].Name })
	return svc, nil
}
