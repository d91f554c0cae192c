package treeconv_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bannin/bannin/internal/protocol/awsjson"
	"github.com/bannin/bannin/internal/protocol/treeconv"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
	"github.com/bannin/bannin/internal/wire/sns"
)

// TestDecodeErrorPaths checks that a decoding error names the member path of the bad
// value, through structures, lists and maps, and that valid input decodes.
func TestDecodeErrorPaths(t *testing.T) {
	ct, sn := cloudtrail.Model(), sns.Model()
	for _, c := range []struct {
		name string
		sh   string
		in   string
		path string
	}{
		{"top-level member", "cloudtrail PutEventSelectors", `{"TrailName": 5}`, "TrailName"},
		{"list element member", "cloudtrail PutEventSelectors",
			`{"TrailName":"t","EventSelectors":[{"ReadWriteType":"All"},{"DataResources":[{"Type":"AWS::S3::Object","Values":"x"}]}]}`,
			"EventSelectors[1].DataResources[0].Values"},
		{"list element", "cloudtrail PutEventSelectors",
			`{"TrailName":"t","EventSelectors":[{"ExcludeManagementEventSources":["a", 7]}]}`, "EventSelectors[0].ExcludeManagementEventSources[1]"},
		{"map value", "sns CreateTopic", `{"Name":"t","Attributes":{"Policy":{}}}`, `Attributes["Policy"]`},
		{"not an object", "sns CreateTopic", `[1]`, ""},
	} {
		op := ct.Operations["PutEventSelectors"]
		if c.sh == "sns CreateTopic" {
			op = sn.Operations["CreateTopic"]
		}
		var raw any
		if err := json.Unmarshal([]byte(c.in), &raw); err != nil {
			t.Fatal(err)
		}
		_, err := treeconv.DecodeStruct(raw, op.Input, awsjson.Options)
		var te *treeconv.Error
		if !errors.As(err, &te) {
			t.Errorf("%s: error %v; want a *treeconv.Error", c.name, err)
			continue
		}
		if te.Path != c.path {
			t.Errorf("%s: error at %q (%v); want %q", c.name, te.Path, err, c.path)
		}
	}
	var raw any
	_ = json.Unmarshal([]byte(`{"TrailName":"t","EventSelectors":[{"ReadWriteType":"All","DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]}`), &raw)
	v, err := treeconv.DecodeStruct(raw, ct.Operations["PutEventSelectors"].Input, awsjson.Options)
	if err != nil {
		t.Fatalf("valid input: %v", err)
	}
	sels, _ := v["EventSelectors"].([]any)
	if len(sels) != 1 || sels[0].(map[string]any)["ReadWriteType"] != "All" {
		t.Errorf("valid input decoded to %v", v)
	}
}
