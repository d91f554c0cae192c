package scenario_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/bannin/bannin/internal/testenv"
)

// TestSecretsStayOutOfTheEventHistory subscribes an endpoint whose URL holds a password: the
// CloudTrail record of the call masks it.
func TestSecretsStayOutOfTheEventHistory(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	c := sns.NewFromConfig(e.Config)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("https"),
		Endpoint: aws.String("https://hook:s3cretpw@127.0.0.1:1/sns")}); err != nil {
		t.Fatal(err)
	}
	out, err := e.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("Subscribe")}}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents(Subscribe) = %v, %v; want one event", out, err)
	}
	rec := aws.ToString(out.Events[0].CloudTrailEvent)
	if strings.Contains(rec, "s3cretpw") || !strings.Contains(rec, "https://hook:****@127.0.0.1:1/sns") {
		t.Errorf("Subscribe record = %s; want the endpoint with its password masked", rec)
	}
}
