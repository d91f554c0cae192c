// Package notify is SNS: topics, subscriptions (email, email-json, http, https) and the
// delivery of published messages over SMTP and HTTP/S, with confirmation and unsubscribe
// links served by bannin.
//
// Delivery is durable. Publish appends a KindPublish stream entry in the publishing
// transaction; the fan-out consumer turns each into one delivery per confirmed subscription
// whose filter policy matches, kept in the store's key-value space (bucket queueBucket), in
// the same transaction as its checkpoint. Run sends due deliveries and reschedules failed
// ones by the subscription's delivery policy, so a restart resumes what was pending.
package notify

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/sns"
)

// Options configure the service.
type Options struct {
	Clock  func() time.Time
	Logger *slog.Logger
	// Store holds topics, subscriptions, pending deliveries and the signing key. Run, the
	// consumers and the links served by Unrouted need it.
	Store store.Store
	// SMTPURL is where mail goes: smtp://[user:pass@]host:port (STARTTLS when offered) or
	// smtps://... (TLS). Empty: mail subscriptions cannot be delivered (deliveries wait).
	SMTPURL string
	// SMTPTLS is the TLS configuration for the mail server (smtps:// and STARTTLS), e.g.
	// RootCAs that trust a private relay's certificate; nil uses the system roots. Its
	// ServerName defaults to SMTPURL's host.
	SMTPTLS *tls.Config
	// BaseURL is bannin's own address as subscribers reach it (confirmation and
	// unsubscribe links, the signing certificate), e.g. http://127.0.0.1:4566.
	BaseURL string
	// HTTPClient delivers to http/https subscriptions (default: a client with AWS's 15 s
	// delivery timeout).
	HTTPClient *http.Client
	// Poll is how often Run looks for due deliveries when nothing wakes it (default 1 s).
	Poll time.Duration
}

// Service implements sns.API.
type Service struct {
	sns.Unimplemented
	opts Options
	// wake tells Run that deliveries were queued.
	wake chan struct{}
	// queued is when enqueue last ran (Unix nanoseconds): Run reads the queue on a store
	// commit only shortly after, not on every commit of every call.
	queued atomic.Int64

	signerMu sync.Mutex
	signer   *signer

	// smtpErr is why Options.SMTPURL cannot be used (nil when it can or is empty): mail
	// then waits in the queue, as with no mail server, until a restart with a good URL.
	smtpErr error
}

// New returns the SNS service. A malformed SMTPURL is logged (password masked) and mail
// deliveries wait in the queue instead of failing, so fixing the URL and restarting sends
// them.
func New(opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	s := &Service{opts: opts, wake: make(chan struct{}, 1)}
	if opts.SMTPURL != "" {
		if _, err := parseSMTPURL(opts.SMTPURL); err != nil {
			s.smtpErr = err
			opts.Logger.Error("notify: the SMTP URL is not usable; mail deliveries wait until it is fixed", "err", err)
		}
	}
	return s
}

// Resource types topics and subscriptions are stored and recorded under.
const (
	TopicType        = "AWS::SNS::Topic"
	SubscriptionType = "AWS::SNS::Subscription"
)

// KindPublish is the stream entry kind of a published message (payload: a message as JSON).
const KindPublish = "sns-publish"

// Key-value buckets of the service.
const (
	// topicSubsBucket indexes subscriptions by topic: key topicARN + "|" + subscriptionARN.
	topicSubsBucket = "sns-topic-subs"
	// queueBucket holds pending deliveries: key dueUnixNano (20 digits) + "/" + id.
	queueBucket = "sns-queue"
	// signingBucket holds the RSA key and certificate messages are signed with.
	signingBucket = "sns-signing"
)

func invalidParameter(format string, args ...any) error {
	return &sns.InvalidParameterException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func notFound(msg string) error {
	return &sns.NotFoundException{Message: aws.String(msg)}
}

var errTopicNotFound = notFound("Topic does not exist")

// newID returns a random UUID (version 4), as SNS message and subscription ids are.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newToken returns a confirmation token (AWS's are long hex strings).
func newToken() string {
	var b [64]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TopicARN is a topic's ARN.
func TopicARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, account, name)
}

var (
	topicARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$`)
	subARNRe   = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?):([0-9a-f-]{36})$`)
)

// parsedARN is a topic or subscription ARN split into its parts.
type parsedARN struct {
	Region, Account, Topic string
}

func parseTopicARN(arn string) (parsedARN, bool) {
	m := topicARNRe.FindStringSubmatch(arn)
	if m == nil {
		return parsedARN{}, false
	}
	return parsedARN{Region: m[1], Account: m[2], Topic: m[3]}, true
}

func parseSubARN(arn string) (parsedARN, bool) {
	m := subARNRe.FindStringSubmatch(arn)
	if m == nil {
		return parsedARN{}, false
	}
	return parsedARN{Region: m[1], Account: m[2], Topic: m[3]}, true
}

// signal wakes Run without blocking.
func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var errNoStore = errors.New("notify: no store configured")
