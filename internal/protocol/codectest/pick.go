package codectest

import (
	"net/http"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol"
)

// For picks the codec with protocol.For.
func For(svc *model.Service, r *http.Request) (Codec, error) {
	return protocol.For(svc, r)
}
