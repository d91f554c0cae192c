package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bannin/bannin/internal/testenv"
)

const ctTarget = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// send signs and sends a raw request, as a client with a bug or a hostile one would.
func send(t *testing.T, e *testenv.Env, service, method, path string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	creds, _ := e.Config.Credentials.Retrieve(context.Background())
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, e.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func jsonCall(t *testing.T, e *testenv.Env, op, body string) (int, map[string]any) {
	t.Helper()
	resp, b := send(t, e, "cloudtrail", "POST", "/", map[string]string{"X-Amz-Target": ctTarget + op,
		"Content-Type": "application/x-amz-json-1.1"}, []byte(body))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: response %q is not JSON: %v", op, b, err)
	}
	return resp.StatusCode, m
}

func eventCount(t *testing.T, e *testenv.Env, name string) int {
	t.Helper()
	out, err := e.CloudTrail().LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
	if err != nil {
		t.Fatalf("LookupEvents(%s): %v", name, err)
	}
	return len(out.Events)
}

func TestMalformedRequests(t *testing.T) {
	e := testenv.New(t)
	for _, c := range []struct {
		name, op, body string
		status         int
		code           string
		msg            string
	}{
		{"bad JSON", "CreateTrail", `{"Name": "x",`, 400, "SerializationException", ""},
		{"wrong type", "CreateTrail", `{"Name": 5, "S3BucketName": "b"}`, 400, "SerializationException", "Name"},
		{"missing required", "CreateTrail", `{"Name": "main"}`, 400, "ValidationException", "s3BucketName"},
		{"bad enum", "LookupEvents", `{"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"x"}]}`, 400, "ValidationException", "enum"},
		{"unknown operation", "DoSomethingElse", `{}`, 400, "UnknownOperationException", "DoSomethingElse"},
		{"not yet built", "StartQuery", `{"QueryStatement":"SELECT 1"}`, 501, "UnsupportedOperation", "StartQuery"},
	} {
		status, m := jsonCall(t, e, c.op, c.body)
		code, _ := m["__type"].(string)
		msg, _ := m["message"].(string)
		if status != c.status || !strings.HasSuffix(code, c.code) || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %s %s = %d %s %q; want %d %s with %q", c.name, c.op, c.body, status, code, msg, c.status, c.code, c.msg)
		}
	}
	if n := eventCount(t, e, "CreateTrail"); n != 3 {
		t.Errorf("CreateTrail events after 3 rejected calls = %d; want 3 (each recorded with its error)", n)
	}
	tr, err := e.CloudTrail().ListTrails(context.Background(), &cloudtrail.ListTrailsInput{})
	if err != nil || len(tr.Trails) != 0 {
		t.Errorf("ListTrails after rejected calls = %v, %v; want none", tr, err)
	}

	big := `{"Name":"` + strings.Repeat("a", 17<<20) + `"}`
	resp, b := send(t, e, "cloudtrail", "POST", "/", map[string]string{"X-Amz-Target": ctTarget + "GetTrail",
		"Content-Type": "application/x-amz-json-1.1"}, []byte(big))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(b, []byte("RequestEntityTooLarge")) {
		t.Errorf("17 MiB body = %d %s; want 413 RequestEntityTooLarge", resp.StatusCode, b)
	}
}

func TestAuthentication(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	bad := e.Config.Copy()
	bad.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(nil)+"AKIATESTROOT00000001", "wrong-secret-wrong-secret-wrong-secret00", "")
	_, err := cloudtrail.NewFromConfig(bad).CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("evil"), S3BucketName: aws.String("b")})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") { // json services; query ones say SignatureDoesNotMatch
		t.Errorf("CreateTrail with a wrong secret = %v; want InvalidSignatureException", err)
	}
	unknown := e.Config.Copy()
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000001", "whatever-whatever-whatever-whatever00000", "")
	_, err = sts.NewFromConfig(unknown).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("GetCallerIdentity with an unknown key = %v; want InvalidClientTokenId", err)
	}
	for _, c := range []struct {
		name, method, path, ctype, target, body, want string
	}{
		{"json", "POST", "/", "application/x-amz-json-1.1", "CloudTrail_20131101.CreateTrail", `{"Name":"x","S3BucketName":"b"}`, `"__type":"MissingAuthenticationToken`},
		{"query", "POST", "/", "application/x-www-form-urlencoded", "", "Action=GetCallerIdentity&Version=2011-06-15", "<ErrorResponse"},
		{"s3", "GET", "/some-bucket", "", "", "", "<Code>AccessDenied</Code>"},
	} {
		req, _ := http.NewRequest(c.method, e.URL+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		if c.target != "" {
			req.Header.Set("X-Amz-Target", c.target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || !strings.Contains(string(b), c.want) {
			t.Errorf("unsigned %s request = %d %s; want an error containing %s", c.name, resp.StatusCode, b, c.want)
		}
	}
	if n := eventCount(t, e, "CreateTrail"); n != 0 {
		t.Errorf("CreateTrail events after a badly signed call = %d; want 0", n)
	}
	id, err := e.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::"+e.Account+":root" {
		t.Fatalf("GetCallerIdentity = %v, %v; want the root", id, err)
	}
}

func TestRecordRedactsSecrets(t *testing.T) {
	e := testenv.New(t)
	// IAM's CreateLoginProfile takes a sensitive Password; it is not served yet, so the call
	// fails, but its record must still hide the password.
	body := "Action=CreateLoginProfile&Version=2010-05-08&UserName=alice&Password=hunter2-secret"
	resp, _ := send(t, e, "iam", "POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(body))
	if resp.StatusCode != 501 {
		t.Errorf("CreateLoginProfile = %d; want 501 (not built yet)", resp.StatusCode)
	}
	out, err := e.CloudTrail().LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateLoginProfile")}}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents(CreateLoginProfile) = %v, %v; want 1 event", out, err)
	}
	rec := aws.ToString(out.Events[0].CloudTrailEvent)
	if strings.Contains(rec, "hunter2") || !strings.Contains(rec, `"password":"HIDDEN_DUE_TO_SECURITY_REASONS"`) || !strings.Contains(rec, `"userName":"alice"`) {
		t.Errorf("record = %s; want the password hidden and the user name shown", rec)
	}
	if !strings.Contains(rec, `"eventSource":"iam.amazonaws.com"`) || !strings.Contains(rec, `"errorCode":"UnsupportedOperation"`) {
		t.Errorf("record = %s; want eventSource iam.amazonaws.com and errorCode UnsupportedOperation", rec)
	}
}
