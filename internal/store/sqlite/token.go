package sqlite

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/bannin/bannin/internal/store"
)

// pageToken is the position after the last item of a page. Q is a hash of the query that
// issued it, so a token used with another query is rejected rather than silently misread.
type pageToken struct {
	Q uint32 `json:"q"`
	T int64  `json:"t,omitempty"` // time (events, history)
	S int64  `json:"s,omitempty"` // seq or version
	I string `json:"i,omitempty"` // resource id
	Y string `json:"y,omitempty"` // resource type
	A string `json:"a,omitempty"` // account
	R string `json:"r,omitempty"` // region
}

func queryHash(parts ...any) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return h.Sum32()
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, q uint32) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, store.ErrInvalidToken
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Q != q {
		return t, store.ErrInvalidToken
	}
	return t, nil
}
