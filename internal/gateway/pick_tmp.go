package gateway

import (
	"net/http"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol"
	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/awsquery"
	"github.com/bannin/bannin/internal/protocol/restxml"
)

// codecFor stands in for protocol.For until the selector lands.
func codecFor(svc *model.Service, r *http.Request) (protocol.Codec, error) {
	switch svc.Metadata.Protocol {
	case "query":
		return awsquery.New(), nil
	case "rest-xml":
		return restxml.New(), nil
	case "ec2":
		return awsquery.NewEC2(), nil
	}
	return awsjson.New(), nil
}
