package codectest

import (
	"net/http"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/awsjson"
)

// For picks the codec as protocol.For will.
func For(svc *model.Service, r *http.Request) (Codec, error) {
	return awsjson.New(), nil
}
