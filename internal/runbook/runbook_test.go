package runbook_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/bannin/bannin/internal/testenv"
)

var ctx = context.Background()

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts at the real time: clients sign with it, and the server refuses
// signatures more than 15 minutes away from its clock, so tests move it less than that.
func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func createDoc(t *testing.T, c *ssm.Client, name, content string) {
	t.Helper()
	_, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(content),
		DocumentType: types.DocumentTypeAutomation, DocumentFormat: types.DocumentFormatYaml})
	if err != nil {
		t.Fatalf("CreateDocument(%s): %v", name, err)
	}
}

func start(t *testing.T, c *ssm.Client, name string, params map[string][]string) string {
	t.Helper()
	out, err := c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String(name), Parameters: params})
	if err != nil {
		t.Fatalf("StartAutomationExecution(%s): %v", name, err)
	}
	return aws.ToString(out.AutomationExecutionId)
}

// waitFor polls an execution until cond holds, with a deadline.
func waitFor(t *testing.T, c *ssm.Client, id string, what string, cond func(*types.AutomationExecution) bool) *types.AutomationExecution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.GetAutomationExecution(ctx, &ssm.GetAutomationExecutionInput{AutomationExecutionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetAutomationExecution(%s): %v", id, err)
		}
		if cond(out.AutomationExecution) {
			return out.AutomationExecution
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(out.AutomationExecution, "", " ")
			t.Fatalf("execution %s never became %s:\n%s", id, what, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func finished(t *testing.T, c *ssm.Client, id string) *types.AutomationExecution {
	t.Helper()
	return waitFor(t, c, id, "finished", func(e *types.AutomationExecution) bool {
		switch e.AutomationExecutionStatus {
		case types.AutomationExecutionStatusSuccess, types.AutomationExecutionStatusFailed,
			types.AutomationExecutionStatusCancelled, types.AutomationExecutionStatusTimedout:
			return true
		}
		return false
	})
}

func stepStatuses(e *types.AutomationExecution) string {
	var parts []string
	for _, s := range e.StepExecutions {
		parts = append(parts, aws.ToString(s.StepName)+"="+string(s.StepStatus))
	}
	return strings.Join(parts, " ")
}

const simpleDoc = `schemaVersion: "0.3"
description: Test document
parameters:
  Greeting:
    type: String
    default: hello
mainSteps:
  - name: Nap
    action: aws:sleep
    inputs:
      Duration: PT1S
`

func TestDocumentLifecycle(t *testing.T) {
	e := testenv.New(t)
	c := ssm.NewFromConfig(e.Config)
	out, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(simpleDoc),
		DocumentType: types.DocumentTypeAutomation, DocumentFormat: types.DocumentFormatYaml, VersionName: aws.String("first"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatalf("CreateDocument: %v", err)
	}
	d := out.DocumentDescription
	if got := aws.ToString(d.DocumentVersion); got != "1" {
		t.Errorf("CreateDocument version = %q; want 1", got)
	}
	if got := aws.ToString(d.SchemaVersion); got != "0.3" {
		t.Errorf("SchemaVersion = %q; want 0.3", got)
	}
	if len(d.Parameters) != 1 || aws.ToString(d.Parameters[0].DefaultValue) != "hello" {
		t.Errorf("Parameters = %+v; want Greeting with default hello", d.Parameters)
	}
	_, err = c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(simpleDoc),
		DocumentType: types.DocumentTypeAutomation, DocumentFormat: types.DocumentFormatYaml})
	if got := errCode(err); got != "DocumentAlreadyExists" {
		t.Errorf("CreateDocument again = %v; want DocumentAlreadyExists", err)
	}

	// Format conversion both ways.
	g, err := c.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("MyRunbook"), DocumentFormat: types.DocumentFormatJson})
	if err != nil {
		t.Fatalf("GetDocument JSON: %v", err)
	}
	var asJSON map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(g.Content)), &asJSON); err != nil {
		t.Fatalf("GetDocument JSON content is not JSON: %v\n%s", err, aws.ToString(g.Content))
	}
	if asJSON["schemaVersion"] != "0.3" {
		t.Errorf("JSON schemaVersion = %v; want \"0.3\"", asJSON["schemaVersion"])
	}
	// A JSON version, read back as YAML.
	jsonDoc := `{"schemaVersion":"0.3","mainSteps":[{"name":"Nap","action":"aws:sleep","inputs":{"Duration":"PT2S"}}]}`
	up, err := c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(jsonDoc),
		DocumentFormat: types.DocumentFormatJson, DocumentVersion: aws.String("$LATEST"), VersionName: aws.String("second")})
	if err != nil {
		t.Fatalf("UpdateDocument: %v", err)
	}
	if got := aws.ToString(up.DocumentDescription.DocumentVersion); got != "2" {
		t.Errorf("UpdateDocument version = %q; want 2", got)
	}
	if got := aws.ToString(up.DocumentDescription.DefaultVersion); got != "1" {
		t.Errorf("DefaultVersion after update = %q; want 1", got)
	}
	g, err = c.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("MyRunbook"), VersionName: aws.String("second"), DocumentFormat: types.DocumentFormatYaml})
	if err != nil {
		t.Fatalf("GetDocument YAML: %v", err)
	}
	if got := aws.ToString(g.Content); !strings.Contains(got, "schemaVersion: \"0.3\"") || !strings.Contains(got, "action: aws:sleep") || strings.Contains(got, "{") {
		t.Errorf("GetDocument as YAML = %q; want block YAML", got)
	}
	_, err = c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(jsonDoc),
		DocumentFormat: types.DocumentFormatJson, DocumentVersion: aws.String("$LATEST")})
	if got := errCode(err); got != "DuplicateDocumentContent" {
		t.Errorf("UpdateDocument same content = %v; want DuplicateDocumentContent", err)
	}
	_, err = c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(simpleDoc + "\n"),
		DocumentFormat: types.DocumentFormatYaml, DocumentVersion: aws.String("1")})
	if got := errCode(err); got != "InvalidDocumentVersion" {
		t.Errorf("UpdateDocument of version 1 = %v; want InvalidDocumentVersion", err)
	}
	_, err = c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("MyRunbook"), Content: aws.String(simpleDoc + "\n"),
		DocumentFormat: types.DocumentFormatYaml, VersionName: aws.String("first")})
	if got := errCode(err); got != "DuplicateDocumentVersionName" {
		t.Errorf("UpdateDocument reusing a version name = %v; want DuplicateDocumentVersionName", err)
	}
	dv, err := c.UpdateDocumentDefaultVersion(ctx, &ssm.UpdateDocumentDefaultVersionInput{Name: aws.String("MyRunbook"), DocumentVersion: aws.String("2")})
	if err != nil {
		t.Fatalf("UpdateDocumentDefaultVersion: %v", err)
	}
	if got := aws.ToString(dv.Description.DefaultVersionName); got != "second" {
		t.Errorf("DefaultVersionName = %q; want second", got)
	}
	desc, err := c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("MyRunbook")})
	if err != nil {
		t.Fatalf("DescribeDocument: %v", err)
	}
	if got := aws.ToString(desc.Document.DocumentVersion); got != "2" {
		t.Errorf("DescribeDocument version = %q; want the default, 2", got)
	}
	if got := desc.Document.DocumentFormat; got != types.DocumentFormatJson {
		t.Errorf("DescribeDocument format = %q; want JSON", got)
	}
	vs, err := c.ListDocumentVersions(ctx, &ssm.ListDocumentVersionsInput{Name: aws.String("MyRunbook")})
	if err != nil {
		t.Fatalf("ListDocumentVersions: %v", err)
	}
	if len(vs.DocumentVersions) != 2 || aws.ToString(vs.DocumentVersions[0].DocumentVersion) != "2" || !vs.DocumentVersions[0].IsDefaultVersion {
		t.Errorf("ListDocumentVersions = %+v; want 2 (default) then 1", vs.DocumentVersions)
	}

	// Listing with filters.
	createDoc(t, c, "OtherRunbook", simpleDoc)
	_, err = c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("MyCommand"),
		Content: aws.String(`{"schemaVersion":"2.2","mainSteps":[]}`), DocumentType: types.DocumentTypeCommand})
	if err != nil {
		t.Fatalf("CreateDocument Command: %v", err)
	}
	list := func(filters ...types.DocumentKeyValuesFilter) []string {
		t.Helper()
		out, err := c.ListDocuments(ctx, &ssm.ListDocumentsInput{Filters: filters})
		if err != nil {
			t.Fatalf("ListDocuments: %v", err)
		}
		var names []string
		for _, d := range out.DocumentIdentifiers {
			names = append(names, aws.ToString(d.Name))
		}
		return names
	}
	if got := strings.Join(list(types.DocumentKeyValuesFilter{Key: aws.String("Owner"), Values: []string{"Self"}},
		types.DocumentKeyValuesFilter{Key: aws.String("DocumentType"), Values: []string{"Automation"}}), ","); got != "MyRunbook,OtherRunbook" {
		t.Errorf("ListDocuments(Owner Self, Automation) = %s; want MyRunbook,OtherRunbook", got)
	}
	if got := strings.Join(list(types.DocumentKeyValuesFilter{Key: aws.String("Name"), Values: []string{"MyCommand"}}), ","); got != "MyCommand" {
		t.Errorf("ListDocuments(Name MyCommand) = %s; want MyCommand", got)
	}
	if got := list(types.DocumentKeyValuesFilter{Key: aws.String("Owner"), Values: []string{"Amazon"}}); len(got) != 0 {
		t.Errorf("ListDocuments(Owner Amazon) = %v; want none", got)
	}
	page, err := c.ListDocuments(ctx, &ssm.ListDocumentsInput{MaxResults: aws.Int32(2)})
	if err != nil || len(page.DocumentIdentifiers) != 2 || page.NextToken == nil {
		t.Fatalf("ListDocuments(MaxResults 2) = %+v, %v; want 2 and a token", page, err)
	}
	page, err = c.ListDocuments(ctx, &ssm.ListDocumentsInput{MaxResults: aws.Int32(2), NextToken: page.NextToken})
	if err != nil || len(page.DocumentIdentifiers) != 1 || aws.ToString(page.DocumentIdentifiers[0].Name) != "OtherRunbook" {
		t.Errorf("ListDocuments page 2 = %+v, %v; want OtherRunbook", page, err)
	}

	// Tags.
	_, err = c.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceType: types.ResourceTypeForTaggingDocument,
		ResourceId: aws.String("MyRunbook"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	if err != nil {
		t.Fatalf("AddTagsToResource: %v", err)
	}
	_, err = c.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: types.ResourceTypeForTaggingDocument,
		ResourceId: aws.String("MyRunbook"), TagKeys: []string{"team"}})
	if err != nil {
		t.Fatalf("RemoveTagsFromResource: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingDocument, ResourceId: aws.String("MyRunbook")})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	if len(tags.TagList) != 1 || aws.ToString(tags.TagList[0].Key) != "env" {
		t.Errorf("ListTagsForResource = %+v; want env=prod only", tags.TagList)
	}
	_, err = c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingDocument, ResourceId: aws.String("Nope")})
	if got := errCode(err); got != "InvalidResourceId" {
		t.Errorf("ListTagsForResource(missing) = %v; want InvalidResourceId", err)
	}

	// Deleting: not the default version; then the whole document.
	_, err = c.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String("MyRunbook"), DocumentVersion: aws.String("2")})
	if got := errCode(err); got != "InvalidDocumentOperation" {
		t.Errorf("DeleteDocument(default version) = %v; want InvalidDocumentOperation", err)
	}
	if _, err := c.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String("MyRunbook"), DocumentVersion: aws.String("1")}); err != nil {
		t.Errorf("DeleteDocument(version 1): %v", err)
	}
	_, err = c.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("MyRunbook"), DocumentVersion: aws.String("1")})
	if got := errCode(err); got != "InvalidDocumentVersion" {
		t.Errorf("GetDocument(deleted version) = %v; want InvalidDocumentVersion", err)
	}
	if _, err := c.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String("MyRunbook")}); err != nil {
		t.Fatalf("DeleteDocument: %v", err)
	}
	_, err = c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("MyRunbook")})
	if got := errCode(err); got != "InvalidDocument" {
		t.Errorf("DescribeDocument(deleted) = %v; want InvalidDocument", err)
	}
}

// TestInvalidDocuments runs the cases of testdata/invalid: each file is a document whose
// first line, "# want CODE: text", names the error and a part of its message.
func TestInvalidDocuments(t *testing.T) {
	e := testenv.New(t)
	c := ssm.NewFromConfig(e.Config)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, content, _ := strings.Cut(string(b), "\n")
		code, want, ok := strings.Cut(strings.TrimPrefix(first, "# want "), ": ")
		if !ok {
			t.Fatalf("%s: first line %q is not \"# want CODE: text\"", f, first)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Doc-" + name), Content: aws.String(content),
				DocumentType: types.DocumentTypeAutomation, DocumentFormat: types.DocumentFormatYaml})
			if got := errCode(err); got != code || !strings.Contains(err.Error(), want) {
				t.Errorf("CreateDocument = %v; want %s containing %q", err, code, want)
			}
		})
	}
}

func TestEnableCloudTrailRunbook(t *testing.T) {
	e := testenv.New(t)
	c := ssm.NewFromConfig(e.Config)
	ct := e.CloudTrail()
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("trail-logs")}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	content, err := os.ReadFile("../../examples/runbooks/enable-cloudtrail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	createDoc(t, c, "EnableCloudTrail", string(content))
	role := "arn:aws:iam::" + e.Account + ":role/AutomationRole"
	params := func(trail string) map[string][]string {
		return map[string][]string{"AutomationAssumeRole": {role}, "CloudTrailName": {trail},
			"CloudTrailS3BucketName": {"trail-logs"}, "IsMultiRegionTrail": {"false"}}
	}

	id := start(t, c, "EnableCloudTrail", params("main"))
	ex := finished(t, c, id)
	if ex.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess {
		t.Fatalf("execution = %s (%s), steps %s; want Success", ex.AutomationExecutionStatus, aws.ToString(ex.FailureMessage), stepStatuses(ex))
	}
	if got, want := stepStatuses(ex), "FindTrail=Success ChooseCreateOrUpdate=Success UpdateTrail=Success StartLogging=Success VerifyLogging=Success"; got != want {
		t.Errorf("steps = %s; want %s", got, want)
	}
	if got := ex.Outputs["FindTrail.TrailNames"]; len(got) != 1 || got[0] != "main" {
		t.Errorf("Outputs[FindTrail.TrailNames] = %v; want [main]", got)
	}
	st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if err != nil || !aws.ToBool(st.IsLogging) {
		t.Errorf("GetTrailStatus = %+v, %v; want logging", st, err)
	}
	tr, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if err != nil || !aws.ToBool(tr.Trail.LogFileValidationEnabled) || aws.ToBool(tr.Trail.IsMultiRegionTrail) {
		t.Errorf("GetTrail = %+v, %v; want log file validation on (default) and single-region", tr, err)
	}

	// The calls were made as the assumed role, invoked by SSM.
	ev, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StartLogging")}}})
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	found := false
	for _, x := range ev.Events {
		var rec struct {
			UserIdentity struct {
				Type, Arn, InvokedBy string
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(x.CloudTrailEvent)), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.UserIdentity.Type == "AssumedRole" && rec.UserIdentity.InvokedBy == "ssm.amazonaws.com" &&
			rec.UserIdentity.Arn == "arn:aws:sts::"+e.Account+":assumed-role/AutomationRole/"+id {
			found = true
		}
	}
	if !found {
		t.Errorf("LookupEvents(StartLogging) has no event by assumed-role/AutomationRole/%s invoked by ssm.amazonaws.com: %d events", id, len(ev.Events))
	}

	// A trail that does not exist is created.
	id = start(t, c, "EnableCloudTrail", params("second"))
	ex = finished(t, c, id)
	if got, want := stepStatuses(ex), "FindTrail=Success ChooseCreateOrUpdate=Success CreateTrail=Success StartLogging=Success VerifyLogging=Success"; ex.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess || got != want {
		t.Errorf("new trail: execution %s (%s) steps %s; want Success with %s", ex.AutomationExecutionStatus, aws.ToString(ex.FailureMessage), got, want)
	}
	if st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("second")}); err != nil || !aws.ToBool(st.IsLogging) {
		t.Errorf("GetTrailStatus(second) = %+v, %v; want logging", st, err)
	}

	// Parameters are checked at start.
	for _, tc := range []struct {
		params map[string][]string
		code   string
	}{
		{map[string][]string{"CloudTrailName": {"x"}}, "InvalidAutomationExecutionParametersException"},
		{map[string][]string{"AutomationAssumeRole": {role}, "CloudTrailName": {"main"}, "CloudTrailS3BucketName": {"b"}, "IsMultiRegionTrail": {"maybe"}}, "InvalidAutomationExecutionParametersException"},
		{map[string][]string{"AutomationAssumeRole": {role}, "CloudTrailName": {"main"}, "CloudTrailS3BucketName": {"b"}, "Unknown": {"1"}}, "InvalidAutomationExecutionParametersException"},
		{map[string][]string{"AutomationAssumeRole": {"not-a-role"}, "CloudTrailName": {"main"}, "CloudTrailS3BucketName": {"b"}}, "InvalidAutomationExecutionParametersException"},
	} {
		_, err := c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String("EnableCloudTrail"), Parameters: tc.params})
		if got := errCode(err); got != tc.code {
			t.Errorf("StartAutomationExecution(%v) = %v; want %s", tc.params, err, tc.code)
		}
	}
	_, err = c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{DocumentName: aws.String("NoSuchDoc")})
	if got := errCode(err); got != "AutomationDefinitionNotFoundException" {
		t.Errorf("StartAutomationExecution(NoSuchDoc) = %v; want AutomationDefinitionNotFoundException", err)
	}

	// Describe filters and step listing.
	de, err := c.DescribeAutomationExecutions(ctx, &ssm.DescribeAutomationExecutionsInput{Filters: []types.AutomationExecutionFilter{
		{Key: types.AutomationExecutionFilterKeyDocumentNamePrefix, Values: []string{"EnableCloud"}},
		{Key: types.AutomationExecutionFilterKeyExecutionStatus, Values: []string{"Success"}}}})
	if err != nil || len(de.AutomationExecutionMetadataList) != 2 {
		t.Errorf("DescribeAutomationExecutions = %+v, %v; want 2", de, err)
	}
	ds, err := c.DescribeAutomationStepExecutions(ctx, &ssm.DescribeAutomationStepExecutionsInput{AutomationExecutionId: aws.String(id),
		ReverseOrder: aws.Bool(true), Filters: []types.StepExecutionFilter{{Key: types.StepExecutionFilterKeyAction, Values: []string{"aws:executeAwsApi"}}}})
	if err != nil || len(ds.StepExecutions) != 3 || aws.ToString(ds.StepExecutions[0].StepName) != "StartLogging" {
		t.Errorf("DescribeAutomationStepExecutions(reverse, executeAwsApi) = %+v, %v; want StartLogging, CreateTrail, FindTrail", ds, err)
	}
}

const failingDoc = `schemaVersion: "0.3"
parameters:
  Mode:
    type: String
    allowedValues: [Abort, Continue, Jump, Retry]
mainSteps:
  - name: Route
    action: aws:branch
    inputs:
      Choices:
        - Variable: "{{ Mode }}"
          StringEquals: Continue
          NextStep: FailContinue
        - Variable: "{{ Mode }}"
          StringEquals: Jump
          NextStep: FailJump
        - Variable: "{{ Mode }}"
          StringEquals: Retry
          NextStep: FailRetry
      Default: FailAbort
  - name: FailAbort
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: GetTrail, Name: missing-trail}
    isEnd: true
  - name: FailContinue
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: GetTrail, Name: missing-trail}
    onFailure: Continue
    nextStep: Recover
  - name: FailJump
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: GetTrail, Name: missing-trail}
    onFailure: step:Recover
  - name: FailRetry
    action: aws:assertAwsResourceProperty
    maxAttempts: 3
    inputs:
      Service: cloudtrail
      Api: DescribeTrails
      PropertySelector: $.trailList[0].Name
      DesiredValues: [nothing]
    onFailure: Abort
  - name: Recover
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: ListTrails}
    outputs:
      - {Name: Count, Selector: "$.Trails", Type: MapList}
    isEnd: true
`

func TestFailureHandling(t *testing.T) {
	e := testenv.New(t)
	c := ssm.NewFromConfig(e.Config)
	createDoc(t, c, "Failing", failingDoc)
	for _, tc := range []struct {
		mode, status, steps string
	}{
		{"Abort", "Failed", "Route=Success FailAbort=Failed"},
		{"Continue", "Success", "Route=Success FailContinue=Failed Recover=Success"},
		{"Jump", "Failed", "Route=Success FailJump=Failed Recover=Success"},
		{"Retry", "Failed", "Route=Success FailRetry=Failed"},
	} {
		id := start(t, c, "Failing", map[string][]string{"Mode": {tc.mode}})
		ex := finished(t, c, id)
		if got := string(ex.AutomationExecutionStatus); got != tc.status || stepStatuses(ex) != tc.steps {
			t.Errorf("Mode %s: execution %s with steps %s (%s); want %s with %s", tc.mode, got, stepStatuses(ex),
				aws.ToString(ex.FailureMessage), tc.status, tc.steps)
		}
		if tc.status == "Failed" && !strings.Contains(aws.ToString(ex.FailureMessage), "Step fails") {
			t.Errorf("Mode %s: FailureMessage = %q; want the failed step's message", tc.mode, aws.ToString(ex.FailureMessage))
		}
		if tc.mode == "Abort" {
			fm := aws.ToString(ex.StepExecutions[1].FailureMessage)
			if !strings.Contains(fm, "TrailNotFoundException") || !strings.Contains(fm, "GetTrail") {
				t.Errorf("FailAbort FailureMessage = %q; want the GetTrail error", fm)
			}
		}
	}
}

const sleepDoc = `schemaVersion: "0.3"
parameters:
  Names:
    type: StringList
    default: [trail-one, trail-two]
mainSteps:
  - name: Before
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: DescribeTrails, trailNameList: "{{ Names }}"}
    outputs:
      - {Name: Trails, Selector: "$.trailList", Type: MapList}
  - name: Nap
    action: aws:sleep
    inputs:
      Duration: PT10M
  - name: After
    action: aws:executeAwsApi
    inputs: {Service: cloudtrail, Api: ListTrails}
`

func TestSleepWithFakeClock(t *testing.T) {
	clk := newClock()
	e := testenv.New(t, testenv.Options{Clock: clk.Now})
	c := ssm.NewFromConfig(e.Config)
	createDoc(t, c, "Sleepy", sleepDoc)
	id := start(t, c, "Sleepy", nil)
	ex := waitFor(t, c, id, "sleeping", func(x *types.AutomationExecution) bool {
		return len(x.StepExecutions) == 2 && x.StepExecutions[1].StepStatus == types.AutomationExecutionStatusInprogress
	})
	if got := ex.StepExecutions[0].Inputs["trailNameList"]; got != `["trail-one","trail-two"]` {
		t.Errorf("Before's trailNameList input = %s; want the StringList inserted whole", got)
	}
	clk.Advance(5 * time.Minute)
	_, err := c.StopAutomationExecution(ctx, &ssm.StopAutomationExecutionInput{AutomationExecutionId: aws.String("00000000-0000-0000-0000-000000000000")})
	if got := errCode(err); got != "AutomationExecutionNotFoundException" {
		t.Errorf("StopAutomationExecution(unknown) = %v; want AutomationExecutionNotFoundException", err)
	}
	clk.Advance(6 * time.Minute)
	ex = finished(t, c, id)
	if ex.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess || stepStatuses(ex) != "Before=Success Nap=Success After=Success" {
		t.Errorf("execution %s steps %s (%s); want Success through After", ex.AutomationExecutionStatus, stepStatuses(ex), aws.ToString(ex.FailureMessage))
	}

	// A sleeping execution can be cancelled.
	id = start(t, c, "Sleepy", nil)
	waitFor(t, c, id, "sleeping", func(x *types.AutomationExecution) bool {
		return len(x.StepExecutions) == 2 && x.StepExecutions[1].StepStatus == types.AutomationExecutionStatusInprogress
	})
	if _, err := c.StopAutomationExecution(ctx, &ssm.StopAutomationExecutionInput{AutomationExecutionId: aws.String(id)}); err != nil {
		t.Fatalf("StopAutomationExecution: %v", err)
	}
	ex = finished(t, c, id)
	if ex.AutomationExecutionStatus != types.AutomationExecutionStatusCancelled || stepStatuses(ex) != "Before=Success Nap=Cancelled" {
		t.Errorf("cancelled execution %s steps %s; want Cancelled with Nap Cancelled", ex.AutomationExecutionStatus, stepStatuses(ex))
	}
}

func TestRestartResumes(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	var id string
	t.Run("before", func(t *testing.T) {
		e := testenv.New(t, testenv.Options{Clock: clk.Now, DataDir: dir})
		c := ssm.NewFromConfig(e.Config)
		createDoc(t, c, "Sleepy", sleepDoc)
		id = start(t, c, "Sleepy", nil)
		waitFor(t, c, id, "sleeping", func(x *types.AutomationExecution) bool {
			return len(x.StepExecutions) == 2 && x.StepExecutions[1].StepStatus == types.AutomationExecutionStatusInprogress
		})
	})
	clk.Advance(11 * time.Minute)
	e := testenv.New(t, testenv.Options{Clock: clk.Now, DataDir: dir})
	c := ssm.NewFromConfig(e.Config)
	ex := finished(t, c, id)
	if ex.AutomationExecutionStatus != types.AutomationExecutionStatusSuccess || stepStatuses(ex) != "Before=Success Nap=Success After=Success" {
		t.Errorf("after restart: execution %s steps %s (%s); want Success with each step once", ex.AutomationExecutionStatus, stepStatuses(ex), aws.ToString(ex.FailureMessage))
	}
}

func TestCLICreateDocument(t *testing.T) {
	e := testenv.New(t)
	path := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(path, []byte(simpleDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.Run(t, testenv.V2, "ssm", "create-document", "--name", "CliDoc", "--content", "file://"+path,
		"--document-type", "Automation", "--document-format", "YAML")
	var res struct {
		DocumentDescription struct {
			Name, Status, DocumentVersion, DocumentType string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("create-document output: %v\n%s", err, out)
	}
	if d := res.DocumentDescription; d.Name != "CliDoc" || d.Status != "Active" || d.DocumentVersion != "1" || d.DocumentType != "Automation" {
		t.Errorf("create-document = %+v; want CliDoc Active version 1 Automation", d)
	}
}
