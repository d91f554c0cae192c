package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/protocol/restxml"
	"github.com/bannin/bannin/internal/sigv4"
)

// scope routes a request by its SigV4 credential scope.
func scope(r *http.Request) (string, string, error) {
	sc, err := sigv4.ReadScope(r)
	if err != nil {
		return "", "", err
	}
	return sc.Service, sc.Region, nil
}

// unrouted answers a request without a signature as the service it was meant for does.
func unrouted(err error, service string) error {
	if errors.Is(err, sigv4.ErrUnsigned) {
		return sigv4.MissingAuthError(service)
	}
	return err
}

// authenticator verifies signatures against the keyring and names the caller.
func authenticator(keys *iam.Keyring, clock func() time.Time) func(ctx context.Context, r *http.Request, service string, body []byte) (gateway.Auth, error) {
	v := &sigv4.Verifier{Secret: keys.Secret, Now: clock, VirtualHostBucket: func(r *http.Request) (string, bool) {
		b := restxml.HostBucket(r.Host)
		return b, b != ""
	}}
	return func(ctx context.Context, r *http.Request, service string, body []byte) (gateway.Auth, error) {
		res, err := v.Verify(ctx, r, body)
		if err != nil && !(keys.Dev && sigv4.UnknownKey(err)) {
			return gateway.Auth{}, err
		}
		var a gateway.Auth
		if res != nil {
			p, ok := keys.Principal(res.AccessKeyID)
			if !ok {
				return gateway.Auth{}, awserr.New("InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid.")
			}
			a.Caller = p
			if body == nil {
				if a.Body, err = res.Body(r); err != nil {
					return gateway.Auth{}, err
				}
				unchunked(r)
			}
			return a, nil
		}
		// Dev mode and a key bannin does not know: the signature cannot be checked, so the
		// well-formed scope is taken at its word.
		sc, err := sigv4.ReadScope(r)
		if err != nil {
			return gateway.Auth{}, err
		}
		a.Caller, _ = keys.Principal(sc.AccessKeyID)
		if body == nil {
			a.Body = r.Body
		}
		return a, nil
	}
}

// unchunked removes the aws-chunked marks from a request whose body the verifier already
// decodes, so that the codec does not decode it twice and S3 keeps only the object's own
// Content-Encoding.
func unchunked(r *http.Request) {
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		r.Header.Del("X-Amz-Content-Sha256")
	}
	ce := r.Header.Get("Content-Encoding")
	if ce == "" {
		return
	}
	var keep []string
	for _, e := range strings.Split(ce, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(keep, ","))
	}
}
