package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// document is SNS's JSON message document (HTTP/S bodies, email-json mail), with its
// members in AWS's order.
type document struct {
	Type              string                  `json:"Type"`
	MessageID         string                  `json:"MessageId"`
	Token             string                  `json:"Token,omitempty"`
	TopicArn          string                  `json:"TopicArn"`
	Subject           string                  `json:"Subject,omitempty"`
	Message           string                  `json:"Message"`
	SubscribeURL      string                  `json:"SubscribeURL,omitempty"`
	Timestamp         string                  `json:"Timestamp"`
	SignatureVersion  string                  `json:"SignatureVersion"`
	Signature         string                  `json:"Signature"`
	SigningCertURL    string                  `json:"SigningCertURL"`
	UnsubscribeURL    string                  `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]docAttribute `json:"MessageAttributes,omitempty"`
}

type docAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// confirmURL is the link that confirms a subscription (SubscribeURL, the mail's link).
func (s *Service) confirmURL(topicARN, token string) string {
	return s.opts.BaseURL + linkPrefix + "confirm?" + url.Values{"TopicArn": {topicARN}, "Token": {token}}.Encode()
}

// unsubscribeURL is the link that deletes a subscription.
func (s *Service) unsubscribeURL(subARN, endpoint string) string {
	v := url.Values{"SubscriptionArn": {subARN}}
	if endpoint != "" {
		v.Set("Endpoint", endpoint)
	}
	return s.opts.BaseURL + linkPrefix + "unsubscribe?" + v.Encode()
}

// buildDocument makes and signs the JSON document of a delivery.
func (s *Service) buildDocument(ctx context.Context, t *Topic, d *delivery) (*document, error) {
	doc := &document{Type: d.Type, MessageID: d.MessageID, TopicArn: d.TopicArn,
		Timestamp: d.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z")}
	switch d.Type {
	case typeNotification:
		doc.Subject, doc.Message = d.Subject, d.Message
		doc.UnsubscribeURL = s.unsubscribeURL(d.SubscriptionArn, "")
		if len(d.Attributes) > 0 {
			doc.MessageAttributes = map[string]docAttribute{}
			for k, a := range d.Attributes {
				doc.MessageAttributes[k] = docAttribute{Type: a.Type, Value: a.Value}
			}
		}
	case typeConfirmation:
		doc.Token, doc.SubscribeURL = d.Token, s.confirmURL(d.TopicArn, d.Token)
		doc.Message = fmt.Sprintf("You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit the SubscribeURL included in this message.", d.TopicArn)
	case typeUnsubscribe:
		doc.Token, doc.SubscribeURL = d.Token, s.confirmURL(d.TopicArn, d.Token)
		doc.Message = fmt.Sprintf("You have chosen to deactivate subscription %s.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.", d.SubscriptionArn)
	}
	sg, err := s.loadSigner(ctx)
	if err != nil {
		return nil, err
	}
	if err := sg.sign(doc, t.Attributes["SignatureVersion"], s.opts.BaseURL); err != nil {
		return nil, err
	}
	return doc, nil
}

// encodeJSON marshals v without HTML escaping, as AWS writes its documents.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// deliverHTTP POSTs a delivery to an http/https endpoint. Answers from 200 to 499 end the
// delivery (AWS retries only other answers, timeouts and connection failures).
func (s *Service) deliverHTTP(ctx context.Context, t *Topic, d *delivery, contentType string, raw bool) error {
	var body []byte
	if raw && d.Type == typeNotification {
		body = []byte(d.Message)
	} else {
		doc, err := s.buildDocument(ctx, t, d)
		if err != nil {
			return errRetry{err}
		}
		body = encodeJSON(doc)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint, bytes.NewReader(body))
	if err != nil {
		// The parse error quotes the URL, password included: say what is wrong without it.
		return fmt.Errorf("notify: endpoint %s is not a usable URL", RedactURL(d.Endpoint))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set("x-amz-sns-message-type", d.Type)
	req.Header.Set("x-amz-sns-message-id", d.MessageID)
	req.Header.Set("x-amz-sns-topic-arn", d.TopicArn)
	if d.Type != typeConfirmation {
		req.Header.Set("x-amz-sns-subscription-arn", d.SubscriptionArn)
	}
	if raw && d.Type == typeNotification {
		req.Header.Set("x-amz-sns-rawdelivery", "true")
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return errRetry{fmt.Errorf("notify: post to %s: %w", RedactURL(d.Endpoint), redactErr(err))}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 500:
		if resp.StatusCode >= 300 {
			s.opts.Logger.Warn("notify: endpoint refused a message; not retried", "endpoint", RedactURL(d.Endpoint), "status", resp.StatusCode)
		}
		return nil
	default:
		return errRetry{fmt.Errorf("notify: post to %s: status %d", RedactURL(d.Endpoint), resp.StatusCode)}
	}
}

// senderAddress is where SNS mail comes from.
const senderAddress = "no-reply@sns.amazonaws.com"

// deliverMail sends a delivery as mail to an email/email-json subscription.
func (s *Service) deliverMail(ctx context.Context, t *Topic, d *delivery) error {
	display := t.Attributes["DisplayName"]
	fromName := display
	if fromName == "" {
		fromName = "AWS Notifications"
	}
	var subject, body string
	switch d.Type {
	case typeConfirmation:
		subject = "AWS Notification - Subscription Confirmation"
		body = fmt.Sprintf("You have chosen to subscribe to the topic: \n%s\n\n"+
			"To confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n"+
			"Confirm subscription: %s\n\n"+
			"Please do not reply directly to this email. If you wish to remove yourself from receiving all future SNS subscription confirmation requests please send an email to sns-opt-out",
			d.TopicArn, s.confirmURL(d.TopicArn, d.Token))
		if d.Protocol == "email-json" {
			doc, err := s.buildDocument(ctx, t, d)
			if err != nil {
				return errRetry{err}
			}
			body = string(encodeJSON(doc))
		}
	case typeNotification:
		subject = d.Subject
		if subject == "" {
			subject = display
		}
		if subject == "" {
			subject = "AWS Notification Message"
		}
		if d.Protocol == "email-json" {
			doc, err := s.buildDocument(ctx, t, d)
			if err != nil {
				return errRetry{err}
			}
			body = string(encodeJSON(doc))
		} else {
			body = d.Message + "\n\n--\n" +
				"If you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n" +
				s.unsubscribeURL(d.SubscriptionArn, d.Endpoint) + "\n\n" +
				"Please do not reply directly to this email. If you have any questions or comments regarding this email, please contact us at https://aws.amazon.com/support"
		}
	default:
		return nil // mail subscriptions get no unsubscribe confirmation.
	}
	msg := composeMail(mail.Address{Name: fromName, Address: senderAddress}, d.Endpoint, subject, body, d.MessageID, s.opts.Clock())
	return sendSMTP(ctx, s.opts.SMTPURL, s.opts.SMTPTLS, senderAddress, d.Endpoint, msg)
}

// composeMail formats a plain-text mail (quoted-printable UTF-8).
func composeMail(from mail.Address, to, subject, body, id string, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@sns.amazonaws.com>\r\n", id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	w.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// sendSMTP sends one mail through the server smtpURL names: smtp:// upgrades with
// STARTTLS when the server offers it, smtps:// is TLS from the start (both with tlsConfig,
// nil for the system roots); a user in the URL authenticates with PLAIN. Only the
// recipient's or the content's refusal (5xx to RCPT TO or DATA) is final: a refused
// login or sender is the relay's configuration, which may be fixed, so it is retried.
func sendSMTP(ctx context.Context, smtpURL string, tlsConfig *tls.Config, from, to string, msg []byte) error {
	u, err := parseSMTPURL(smtpURL)
	if err != nil {
		return err
	}
	host := u.Hostname()
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(host, map[string]string{"smtp": "25", "smtps": "465"}[u.Scheme])
	}
	tc := &tls.Config{}
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	if u.Scheme == "smtps" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return errRetry{fmt.Errorf("notify: smtp dial %s: %w", addr, err)}
	}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello("bannin"); err != nil {
		return smtpErr("EHLO", err)
	}
	if u.Scheme == "smtp" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tc); err != nil {
				return smtpErr("STARTTLS", err)
			}
		}
	}
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		if err := c.Auth(smtp.PlainAuth("", u.User.Username(), pass, host)); err != nil {
			return smtpErr("AUTH", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpErr("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("DATA", err)
	}
	c.Quit() // the mail is accepted; a failed goodbye does not matter.
	return nil
}

// parseSMTPURL parses a mail server URL (Options.SMTPURL). Its error shows the URL with
// the password masked, never url.Parse's own message (which quotes the URL whole).
func parseSMTPURL(smtpURL string) (*url.URL, error) {
	u, err := url.Parse(smtpURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("notify: SMTP URL %s is not a valid URL", RedactURL(smtpURL))
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return nil, fmt.Errorf("notify: SMTP URL %s: scheme must be smtp or smtps", RedactURL(smtpURL))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("notify: SMTP URL %s has no host", RedactURL(smtpURL))
	}
	return u, nil
}

// redactErr hides URL passwords in an error from net/http (its url.Error carries the
// request URL).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

func smtpErr(step string, err error) error {
	err = fmt.Errorf("notify: smtp %s: %w", step, err)
	var te *textproto.Error
	if (step == "RCPT TO" || step == "DATA") && errors.As(err, &te) && te.Code >= 500 {
		return err
	}
	return errRetry{err}
}
