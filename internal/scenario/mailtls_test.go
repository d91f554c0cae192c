package scenario_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/smtptest"
	"github.com/bannin/bannin/internal/testenv"
)

// TestMailOverTLSWithLogin sends SNS mail through a server that wants STARTTLS and a login,
// as `bannin serve --smtp-url smtp://user:pass@host:port` would.
func TestMailOverTLSWithLogin(t *testing.T) {
	for _, o := range []smtptest.Options{{STARTTLS: true, Auth: "bannin:s3cret"}, {TLS: true, Auth: "bannin:s3cret"}} {
		mail := smtptest.StartWith(t, o)
		e := testenv.New(t, testenv.Options{SMTPURL: mail.URL(), SMTPTLS: &tls.Config{RootCAs: mail.RootCAs()}})
		ctx := context.Background()
		c := sns.NewFromConfig(e.Config)
		topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")}); err != nil {
			t.Fatal(err)
		}
		m := mail.Wait(t, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Subscription Confirmation") }, 10*time.Second)
		if len(m.To) != 1 || m.To[0] != "ops@example.com" {
			t.Errorf("%s: confirmation went to %v; want ops@example.com", mail.URL(), m.To)
		}
	}
}
