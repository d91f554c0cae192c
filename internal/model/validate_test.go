package model_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/kms"
	"github.com/bannin/bannin/internal/wire/logs"
	"github.com/bannin/bannin/internal/wire/s3"
	"github.com/bannin/bannin/internal/wire/ssm"
)

func TestValidate(t *testing.T) {
	ct := cloudtrail.Model().Shapes
	for _, c := range []struct {
		name  string
		shape *model.Shape
		in    map[string]any
		want  string // "" for valid
	}{
		{"valid", ct["PutEventSelectorsRequest"], map[string]any{
			"TrailName": "t", "EventSelectors": []any{map[string]any{"ReadWriteType": "All"}}}, ""},
		{"missing required", ct["CreateTrailRequest"], map[string]any{"Name": "t"},
			"1 validation error detected: Value null at 's3BucketName' failed to satisfy constraint: Member must not be null"},
		{"two errors, nested enum", ct["PutEventSelectorsRequest"], map[string]any{
			"EventSelectors": []any{map[string]any{"ReadWriteType": "All"}, map[string]any{"ReadWriteType": "x"}}},
			"2 validation errors detected: Value null at 'trailName' failed to satisfy constraint: Member must not be null; " +
				"Value 'x' at 'eventSelectors.2.member.readWriteType' failed to satisfy constraint: Member must satisfy enum value set: [ReadOnly, WriteOnly, All]"},
		{"range", ct["LookupEventsRequest"], map[string]any{"MaxResults": int64(51)},
			"1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"range min", ct["LookupEventsRequest"], map[string]any{"MaxResults": int64(0)},
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"required in list element", ct["LookupEventsRequest"], map[string]any{
			"LookupAttributes": []any{map[string]any{"AttributeKey": "EventName"}}},
			"1 validation error detected: Value null at 'lookupAttributes.1.member.attributeValue' failed to satisfy constraint: Member must not be null"},
		{"string length", ct["AddTagsRequest"], map[string]any{"ResourceId": "r",
			"TagsList": []any{map[string]any{"Key": ""}, map[string]any{"Key": strings.Repeat("k", 129), "Value": "v"}}},
			"2 validation errors detected: Value '' at 'tagsList.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '" + strings.Repeat("k", 129) + "' at 'tagsList.2.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"list length", ct["AddTagsRequest"], map[string]any{"ResourceId": "r", "TagsList": manyTags(201)},
			"1 validation error detected: Value '" + renderTags(201) + "' at 'tagsList' failed to satisfy constraint: Member must have length less than or equal to 200"},
		{"multibyte length counts characters", logs.Model().Shapes["CreateLogGroupRequest"], map[string]any{
			"logGroupName": strings.Repeat("é", 512)}, ""},
		{"map length and values", logs.Model().Shapes["CreateLogGroupRequest"], map[string]any{
			"logGroupName": "g", "tags": map[string]any{"": "v", "b": strings.Repeat("v", 257)}},
			"2 validation errors detected: Value '{=v, b=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length greater than or equal to 1]; " +
				"Value '{=v, b=" + strings.Repeat("v", 257) + "}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256]"},
		{"empty map", logs.Model().Shapes["CreateLogGroupRequest"], map[string]any{"logGroupName": "g", "tags": map[string]any{}},
			"1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"sensitive value hidden", ssm.Model().Shapes["UpdateMaintenanceWindowRequest"], map[string]any{"WindowId": "mw-0123456789abcdef0", "Description": ""},
			"1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"blob length", kms.Model().Shapes["EncryptRequest"], map[string]any{"KeyId": "k", "Plaintext": []byte{}},
			"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"patterns are not checked", logs.Model().Shapes["CreateLogGroupRequest"], map[string]any{"logGroupName": "no spaces allowed"}, ""},
	} {
		err := model.Validate(c.shape, c.in)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: Validate = %v; want nil", c.name, err)
			}
			continue
		}
		var ve *model.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: Validate = %v; want a *ValidationError", c.name, err)
			continue
		}
		if got := err.Error(); got != c.want {
			t.Errorf("%s: Validate =\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

func TestValidationErrorViolations(t *testing.T) {
	err := model.Validate(cloudtrail.Model().Shapes["CreateTrailRequest"], map[string]any{})
	var ve *model.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 2 {
		t.Fatalf("Validate(CreateTrailRequest{}) = %v; want 2 violations", err)
	}
	if v := ve.Violations[0]; v.Path != "name" || v.Value != "null" || v.Constraint != "Member must not be null" {
		t.Errorf("Violations[0] = %+v; want name, null, must not be null", v)
	}
}

func manyTags(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"Key": "k"}
	}
	return out
}

func renderTags(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "{Key=k}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TestViolationKinds checks the structured fields protocols word violations from: the
// rule, the input member the path starts at, the innermost member and the raw value.
func TestViolationKinds(t *testing.T) {
	sh := s3.Model().Operations["PutBucketVersioning"].Input
	in := map[string]any{"Bucket": "b", "VersioningConfiguration": map[string]any{"Status": "Paused"}}
	err := model.Validate(sh, in)
	var ve *model.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 1 {
		t.Fatalf("Validate(Status=Paused) = %v; want 1 violation", err)
	}
	v := ve.Violations[0]
	if v.Rule != model.RuleEnum || v.Top == nil || v.Top.Name != "VersioningConfiguration" ||
		v.Member == nil || v.Member.Name != "Status" || v.Raw != "Paused" {
		t.Errorf("violation = %+v; want an enum rule on Status under VersioningConfiguration with raw Paused", v)
	}
	err = model.Validate(sh, map[string]any{"Bucket": "b"})
	if !errors.As(err, &ve) || len(ve.Violations) != 1 {
		t.Fatalf("Validate(no body) = %v; want 1 violation", err)
	}
	if v := ve.Violations[0]; v.Rule != model.RuleRequired || v.Top != v.Member || v.Top.Name != "VersioningConfiguration" || v.Raw != nil {
		t.Errorf("violation = %+v; want a required rule on VersioningConfiguration itself", v)
	}
	ct := cloudtrail.Model().Shapes["LookupEventsRequest"]
	err = model.Validate(ct, map[string]any{"LookupAttributes": []any{map[string]any{"AttributeKey": "Nope", "AttributeValue": "v"}}})
	if !errors.As(err, &ve) || len(ve.Violations) != 1 {
		t.Fatalf("Validate(bad AttributeKey) = %v; want 1 violation", err)
	}
	if v := ve.Violations[0]; v.Rule != model.RuleEnum || v.Top.Name != "LookupAttributes" || v.Member == nil || v.Member.Name != "AttributeKey" {
		t.Errorf("violation = %+v; want an enum rule on AttributeKey under LookupAttributes", v)
	}
}
