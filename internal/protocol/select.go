package protocol

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/awsquery"
	"github.com/bannin/bannin/internal/protocol/restjson"
	"github.com/bannin/bannin/internal/protocol/restxml"
	"github.com/bannin/bannin/internal/protocol/rpcv2cbor"
)

// For chooses the codec of a request to svc. A service with one protocol always gets it;
// one with several (CloudWatch) is told by the request: rpc-v2-cbor by its
// smithy-protocol header or /service/ path, json by X-Amz-Target, query otherwise.
func For(svc *model.Service, r *http.Request) (Codec, error) {
	protos := svc.Metadata.Protocols
	if len(protos) == 0 {
		protos = []string{svc.Metadata.Protocol}
	}
	if len(protos) > 1 {
		has := func(p string) bool {
			for _, q := range protos {
				if q == p {
					return true
				}
			}
			return false
		}
		switch {
		case has("smithy-rpc-v2-cbor") && (strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") ||
			strings.HasPrefix(r.URL.Path, "/service/")):
			return ByName("smithy-rpc-v2-cbor")
		case has("json") && r.Header.Get("X-Amz-Target") != "":
			return ByName("json")
		case has("query"):
			return ByName("query")
		}
		return ByName(protos[0])
	}
	return ByName(protos[0])
}

// ByName returns the codec of a botocore protocol name.
func ByName(name string) (Codec, error) {
	switch name {
	case "json":
		return awsjson.New(), nil
	case "query":
		return awsquery.New(), nil
	case "ec2":
		return awsquery.NewEC2(), nil
	case "rest-xml":
		return restxml.New(), nil
	case "rest-json":
		return restjson.New(), nil
	case "smithy-rpc-v2-cbor":
		return rpcv2cbor.New(), nil
	}
	return nil, fmt.Errorf("protocol: no codec for %q", name)
}

// StreamingInput reports whether op's input has a streaming payload, whose body the
// codec reads from the request itself (DecodeRequest gets body == nil).
func StreamingInput(op *model.Operation) bool {
	if op == nil || op.Input == nil || op.Input.Payload == "" {
		return false
	}
	m := op.Input.MemberByName(op.Input.Payload)
	return m != nil && m.IsStreaming()
}
