package restjson_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
)

func TestPutAuditEvents(t *testing.T) {
	svc := codectest.Model(t, "cloudtraildata", "cloudtrail-data")
	srv := codectest.Serve(t, svc, codectest.For, func(op *model.Operation, in map[string]any) (map[string]any, error) {
		if in["channelArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:channel/missing" {
			return nil, awserr.New("ChannelNotFound", 404, "channel not found")
		}
		var ok []any
		for _, e := range in["auditEvents"].([]any) {
			ok = append(ok, map[string]any{"id": e.(map[string]any)["id"], "eventID": "ev-" + e.(map[string]any)["id"].(string)})
		}
		return map[string]any{"successful": ok, "failed": []any{}}, nil
	})
	send := func(channel, body string) (*http.Response, string) {
		u := srv.URL + "/PutAuditEvents?channelArn=" + channel + "&externalId=ext-1"
		req, _ := http.NewRequest("POST", u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, codectest.ReadAll(t, resp)
	}
	resp, body := send("arn:aws:cloudtrail:us-east-1:123456789012:channel/c1",
		`{"auditEvents":[{"id":"a1","eventData":"{\"version\":\"1.0\"}"},{"id":"a2","eventData":"{}","eventDataChecksum":"x"}]}`)
	want := map[string]any{
		"channelArn": "arn:aws:cloudtrail:us-east-1:123456789012:channel/c1", "externalId": "ext-1",
		"auditEvents": []any{
			map[string]any{"id": "a1", "eventData": `{"version":"1.0"}`},
			map[string]any{"id": "a2", "eventData": "{}", "eventDataChecksum": "x"},
		},
	}
	if call := srv.Last(t); call.Codec != "rest-json" || call.Op != "PutAuditEvents" || !reflect.DeepEqual(call.In, want) {
		t.Errorf("PutAuditEvents decoded by %s %s = %#v; want %#v", call.Codec, call.Op, call.In, want)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("PutAuditEvents = %d %s", resp.StatusCode, body)
	}
	wantOut := map[string]any{"failed": []any{}, "successful": []any{
		map[string]any{"id": "a1", "eventID": "ev-a1"}, map[string]any{"id": "a2", "eventID": "ev-a2"},
	}}
	if !reflect.DeepEqual(out, wantOut) {
		t.Errorf("PutAuditEvents body = %s", body)
	}
	resp, body = send("arn:aws:cloudtrail:us-east-1:123456789012:channel/missing", `{"auditEvents":[]}`)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ChannelNotFound" || !strings.Contains(body, `"message":"channel not found"`) {
		t.Errorf("missing channel = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = send("c", `{"auditEvents":{"id":"a1"}}`)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" || !strings.Contains(body, "auditEvents") {
		t.Errorf("wrong type = %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/Nowhere", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body = codectest.ReadAll(t, resp); resp.StatusCode != 404 || !strings.Contains(body, "UnknownOperationException") {
		t.Errorf("GET /Nowhere = %d %s", resp.StatusCode, body)
	}
}
