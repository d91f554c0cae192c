package notify

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
)

// Unrouted returns the handler for the unsigned requests SNS serves itself (subscription
// confirmation and unsubscribe links, the signing certificate) when r is one of them.
func (s *Service) Unrouted(r *http.Request) (http.Handler, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || !strings.HasPrefix(r.URL.Path, linkPrefix) {
		return nil, false
	}
	switch rest := strings.TrimPrefix(r.URL.Path, linkPrefix); {
	case rest == "confirm":
		return http.HandlerFunc(s.serveConfirm), true
	case rest == "unsubscribe":
		return http.HandlerFunc(s.serveUnsubscribe), true
	case strings.HasPrefix(rest, "SimpleNotificationService-") && strings.HasSuffix(rest, ".pem"):
		return http.HandlerFunc(s.serveCert), true
	}
	return nil, false
}

func (s *Service) serveCert(w http.ResponseWriter, r *http.Request) {
	sg, err := s.loadSigner(r.Context())
	if err != nil {
		s.opts.Logger.Error("notify: serve certificate", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if r.URL.Path != sg.certPath {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-x509-ca-cert")
	w.Write(sg.certPEM)
}

// page answers a link with AWS's look: an HTML page for people following mail links.
func page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"><title>Amazon Simple Notification Service</title></head>\n"+
		"<body><h1>%s</h1>\n%s\n</body></html>\n", html.EscapeString(title), body)
}

// xmlAnswer answers a link the way the query API answers its action (for HTTP subscribers
// that fetch SubscribeURL or UnsubscribeURL programmatically).
func xmlAnswer(w http.ResponseWriter, action, result string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, action, result, action, newID(), action)
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *Service) serveConfirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topicARN, token := q.Get("TopicArn"), q.Get("Token")
	if s.opts.Store == nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var sub *Subscription
	err := s.opts.Store.Update(r.Context(), func(tx store.Tx) error {
		if _, ok := parseTopicARN(topicARN); !ok {
			return invalidParameter("Invalid parameter: TopicArn")
		}
		t, err := getTopic(r.Context(), tx, topicARN)
		if err != nil {
			return err
		}
		if t == nil {
			return errTopicNotFound
		}
		sub, err = confirm(r.Context(), tx, topicARN, token, false, s.opts.Clock())
		return err
	})
	if err != nil {
		if c, ok := awserr.As(err); ok {
			page(w, c.AWSHTTPStatus(), "Subscription not confirmed", "<p>"+html.EscapeString(c.AWSMessage())+"</p>")
			return
		}
		s.opts.Logger.Error("notify: confirm subscription", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if sub.Protocol == "http" || sub.Protocol == "https" {
		xmlAnswer(w, "ConfirmSubscription", "<SubscriptionArn>"+xmlText(sub.SubscriptionArn)+"</SubscriptionArn>")
		return
	}
	page(w, http.StatusOK, "Subscription confirmed!",
		"<p>You have successfully subscribed.</p>\n<p>Your subscription's id is: <br/>"+html.EscapeString(sub.SubscriptionArn)+"</p>\n"+
			"<p>If it was not your intention to subscribe, <a href=\""+html.EscapeString(s.unsubscribeURL(sub.SubscriptionArn, sub.Endpoint))+"\">click here to unsubscribe</a>.</p>")
}

var errAuthRequired = errors.New("authentication required")

func (s *Service) serveUnsubscribe(w http.ResponseWriter, r *http.Request) {
	arn := r.URL.Query().Get("SubscriptionArn")
	if s.opts.Store == nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var sub *Subscription
	var restore string
	err := s.opts.Store.Update(r.Context(), func(tx store.Tx) error {
		var err error
		if sub, err = getSubscription(r.Context(), tx, arn); err != nil {
			return err
		}
		if sub == nil {
			return notFound("Subscription does not exist")
		}
		if sub.AuthOnUnsubscribe {
			return errAuthRequired
		}
		restore, err = s.unsubscribe(context.WithoutCancel(r.Context()), tx, sub)
		return err
	})
	switch c, ok := awserr.As(err); {
	case err == nil:
	case errors.Is(err, errAuthRequired):
		page(w, http.StatusForbidden, "Subscription not removed", "<p>This subscription can only be removed by an authenticated Unsubscribe call.</p>")
		return
	case ok:
		page(w, c.AWSHTTPStatus(), "Subscription not removed", "<p>"+html.EscapeString(c.AWSMessage())+"</p>")
		return
	default:
		s.opts.Logger.Error("notify: unsubscribe", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.signal()
	if sub.Protocol == "http" || sub.Protocol == "https" {
		xmlAnswer(w, "Unsubscribe", "")
		return
	}
	resubscribe := ""
	if restore != "" {
		resubscribe = "\n<p>If it was not your intention to unsubscribe, <a href=\"" + html.EscapeString(s.confirmURL(sub.TopicArn, restore)) +
			"\">click here to re-subscribe</a>.</p>"
	}
	page(w, http.StatusOK, "Subscription removed!",
		"<p>Your subscription to the topic below has been deactivated for the address <b>"+html.EscapeString(sub.Endpoint)+"</b>.</p>\n"+
			"<p>"+html.EscapeString(sub.TopicArn)+"</p>\n<p>You will no longer receive notifications from this topic.</p>"+
			resubscribe)
}
