package codectest

import (
	"net/http"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/awsquery"
	"github.com/bannin/bannin/internal/protocol/restxml"
)

// For picks the codec as protocol.For will.
func For(svc *model.Service, r *http.Request) (Codec, error) {
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
