// Package contentenc undoes the request compression that SDKs apply to some operations
// (the requestCompression trait: CloudWatch PutMetricData is sent gzip-compressed), so
// that codecs decode the body the client meant.
package contentenc

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
)

// MaxDecoded bounds a decompressed body, against compression bombs.
const MaxDecoded = 64 << 20

// Body returns body with the request's Content-Encoding (gzip) removed.
func Body(r *http.Request, body []byte) ([]byte, error) {
	ce := r.Header.Get("Content-Encoding")
	if ce == "" || len(body) == 0 {
		return body, nil
	}
	for _, enc := range strings.Split(ce, ",") {
		if strings.TrimSpace(strings.ToLower(enc)) != "gzip" {
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, bad(err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, MaxDecoded+1))
		if err != nil {
			return nil, bad(err)
		}
		if len(out) > MaxDecoded {
			return nil, bad(fmt.Errorf("decompressed body larger than %d bytes", MaxDecoded))
		}
		return out, nil
	}
	return body, nil
}

func bad(err error) error {
	return awserr.New("SerializationException", http.StatusBadRequest, "the gzip request body could not be decompressed: %v", err)
}
