package recorder

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

type sent struct {
	topic, subject, message string
}

type emitted struct {
	detailType string
	resources  []string
	detail     map[string]any
}

// TestItemChangeNotifications checks the ConfigurationItemChangeNotification messages sent
// to the channel's topic and the EventBridge events, and that SNS failures neither stop
// the events nor make notifications repeat.
func TestItemChangeNotifications(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var msgs []sent
	var evs []emitted
	failPublish := true
	s := New(Options{Store: st,
		Publish: func(ctx context.Context, tx store.Tx, topic, subject, message string) (string, error) {
			if failPublish {
				return "", awserr.New("NotFound", 404, "Topic does not exist")
			}
			msgs = append(msgs, sent{topic, subject, message})
			return "m-1", nil
		},
		EmitEvent: func(ctx context.Context, tx store.Tx, account, region, source, detailType string, resources []string, detail []byte) error {
			if source != "aws.config" {
				t.Errorf("event source = %s; want aws.config", source)
			}
			var d map[string]any
			if err := json.Unmarshal(detail, &d); err != nil {
				t.Errorf("event detail %s: %v", detail, err)
			}
			evs = append(evs, emitted{detailType, resources, d})
			return nil
		}})
	const acct, region = "111122223333", "us-east-1"
	topic := "arn:aws:sns:us-east-1:111122223333:config-topic"
	var pos int64
	putRecorder(t, st, acct, region, true, nil)
	err := st.Update(ctx, func(tx store.Tx) error {
		return saveChannel(ctx, tx, acct, region, &channelState{Channel: config.DeliveryChannel{Name: aws.String("default"),
			S3BucketName: aws.String("b"), SnsTopicARN: aws.String(topic)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s, st, &pos)
	put := func(cfg string) {
		t.Helper()
		err := st.Update(ctx, func(tx store.Tx) error {
			return tx.PutResource(ctx, &store.Resource{Account: acct, Region: region, Type: "AWS::CloudTrail::Trail", ID: "main",
				ARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main", Config: json.RawMessage(cfg)})
		})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, s, st, &pos)
	}
	put(`{"Name":"main","IsLogging":true}`)
	failPublish = false
	put(`{"Name":"main","IsLogging":false}`)

	if len(evs) != 2 {
		t.Fatalf("events = %d; want 2 (one per item, SNS failure or not)", len(evs))
	}
	for _, e := range evs {
		if e.detailType != "Config Configuration Item Change" || len(e.resources) != 1 || e.resources[0] != "arn:aws:cloudtrail:us-east-1:111122223333:trail/main" {
			t.Errorf("event = %s %v; want Config Configuration Item Change on the trail", e.detailType, e.resources)
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("SNS messages = %d; want 1 (the first publish failed)", len(msgs))
	}
	m := msgs[0]
	if m.topic != topic || m.subject != "[AWS Config:us-east-1] AWS::CloudTrail::Trail main Changed in Account 111122223333" {
		t.Errorf("message to %s subject %q", m.topic, m.subject)
	}
	var n struct {
		MessageType string `json:"messageType"`
		Diff        struct {
			ChangeType string                    `json:"changeType"`
			Changed    map[string]propertyChange `json:"changedProperties"`
		} `json:"configurationItemDiff"`
		Item Item `json:"configurationItem"`
	}
	if err := json.Unmarshal([]byte(m.message), &n); err != nil {
		t.Fatal(err)
	}
	c := n.Diff.Changed["Configuration.IsLogging"]
	if n.MessageType != MessageItemChange || n.Diff.ChangeType != "UPDATE" || c.PreviousValue != true || c.UpdatedValue != false || c.ChangeType != "UPDATE" {
		t.Errorf("notification = %s; want an UPDATE of Configuration.IsLogging from true to false", m.message)
	}
	if first := evs[0].detail["configurationItemDiff"].(map[string]any); first["changeType"] != "CREATE" {
		t.Errorf("first event diff = %v; want CREATE", first)
	}

	// Handling the same items again sends nothing new.
	var es []store.Entry
	st.View(ctx, func(tx store.ReadTx) error {
		es, err = tx.ReadStream(ctx, 0, 1000)
		return err
	})
	var items []store.Entry
	for _, e := range es {
		if e.Kind == KindItem {
			items = append(items, e)
		}
	}
	if err := s.handleItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || len(msgs) != 1 {
		t.Errorf("after replay: %d events, %d messages; want 2 and 1", len(evs), len(msgs))
	}

	// Compliance notifications go the same way with their own detail-type.
	err = st.Update(ctx, func(tx store.Tx) error {
		return s.Notify(ctx, tx, acct, region, MessageCompliance, map[string]any{"configRuleName": "r", "resourceId": "main"})
	})
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if evs[len(evs)-1].detailType != "Config Rules Compliance Change" || !strings.Contains(last.message, `"messageType":"ComplianceChangeNotification"`) {
		t.Errorf("compliance notification = %s / %s", evs[len(evs)-1].detailType, last.message)
	}
	// The channel status shows the last SNS delivery.
	st.View(ctx, func(tx store.ReadTx) error {
		ch, err := loadChannel(ctx, tx, acct, region)
		if err != nil || ch.Stream.LastStatus != "Success" {
			t.Errorf("stream delivery status = %+v, %v; want Success", ch, err)
		}
		return nil
	})
}
