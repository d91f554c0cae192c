// Package notify is SNS: topics, subscriptions (email, email-json, http, https) and the
// delivery of published messages over SMTP and HTTP/S, with confirmation and unsubscribe
// links served by bannin.
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// SMTPURL is where mail goes: smtp://[user:pass@]host:port (STARTTLS when offered) or
	// smtps://... (TLS). Empty: mail subscriptions cannot be delivered (deliveries wait).
	SMTPURL string
	// BaseURL is bannin's own address as subscribers reach it (confirmation and
	// unsubscribe links, the signing certificate), e.g. http://127.0.0.1:4566.
	BaseURL string
	// HTTPClient delivers to http/https subscriptions (default http.DefaultClient).
	HTTPClient *http.Client
}

// Service implements sns.API.
type Service struct {
	sns.Unimplemented
	opts Options
}

// New returns the SNS service.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	return &Service{opts: opts}
}

// PublishMessage publishes a message to a topic from inside bannin (alarm actions, event rule
// targets, Config notifications) in tx, exactly as the Publish API would, and returns the
// message id. Deliveries happen after tx commits.
func (s *Service) PublishMessage(ctx context.Context, tx store.Tx, topicARN, subject, message string) (string, error) {
	return "", awserr.NotImplemented("SNS", "Publish")
}

// Unrouted returns the handler for the unsigned requests SNS serves itself (subscription
// confirmation and unsubscribe links, the signing certificate) when r is one of them.
func (s *Service) Unrouted(r *http.Request) (http.Handler, bool) {
	return nil, false
}
