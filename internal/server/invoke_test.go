package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/testenv"
)

// TestInvokeAsServiceRole calls APIs the way a runbook step does: through the gateway as an
// assumed role held by ssm.amazonaws.com, recorded as such.
func TestInvokeAsServiceRole(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("audit-logs")}); err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::" + e.Account + ":role/AutomationRole"
	p, err := iam.AssumedRole(role, "Automation-1", "ssm.amazonaws.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Server.Invoke(ctx, p, e.Region, "cloudtrail", "CreateTrail",
		map[string]any{"Name": "main", "S3BucketName": "audit-logs", "IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true})
	if err != nil {
		t.Fatalf("Invoke CreateTrail: %v", err)
	}
	if out["TrailARN"] != "arn:aws:cloudtrail:us-east-1:"+e.Account+":trail/main" || out["IsMultiRegionTrail"] != true {
		t.Errorf("Invoke CreateTrail = %v; want the trail's ARN and settings", out)
	}
	_, err = e.Server.Invoke(ctx, p, e.Region, "cloudtrail", "StartLogging", map[string]any{"Name": "nope"})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "TrailNotFoundException" {
		t.Errorf("Invoke StartLogging on a missing trail = %v; want TrailNotFoundException", err)
	}
	_, err = e.Server.Invoke(ctx, p, e.Region, "cloudtrail", "StartLogging", map[string]any{"Name": 7})
	if ce, ok := awserr.As(err); !ok || ce.AWSErrorCode() != "ValidationException" {
		t.Errorf("Invoke with a number for a string = %v; want ValidationException", err)
	}
	if _, err := e.Server.Invoke(ctx, p, e.Region, "nosuch", "Foo", nil); err == nil {
		t.Error("Invoke on an unknown service succeeded")
	}
	res, err := e.CloudTrail().LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
		{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateTrail")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 {
		t.Fatalf("CreateTrail events = %d; want 1", len(res.Events))
	}
	var rec struct {
		SourceIPAddress string `json:"sourceIPAddress"`
		UserIdentity    struct {
			Type, ARN, InvokedBy string
			SessionContext       struct {
				SessionIssuer struct{ Type, ARN string }
				Attributes    struct{ CreationDate string }
			}
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(res.Events[0].CloudTrailEvent)), &rec); err != nil {
		t.Fatal(err)
	}
	u := rec.UserIdentity
	if u.Type != "AssumedRole" || u.InvokedBy != "ssm.amazonaws.com" || u.ARN != "arn:aws:sts::"+e.Account+":assumed-role/AutomationRole/Automation-1" ||
		u.SessionContext.SessionIssuer.ARN != role || u.SessionContext.Attributes.CreationDate == "" || rec.SourceIPAddress != "ssm.amazonaws.com" {
		t.Errorf("CreateTrail by the role recorded as %+v from %s; want AssumedRole AutomationRole/Automation-1 invoked by ssm.amazonaws.com", u, rec.SourceIPAddress)
	}
	if _, err := iam.AssumedRole("not-a-role", "s", "ssm.amazonaws.com", time.Now()); err == nil {
		t.Error("AssumedRole accepted a malformed role ARN")
	}
}
