package xmltree_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/bannin/bannin/internal/model"
	"github.com/bannin/bannin/internal/protocol/codectest"
	"github.com/bannin/bannin/internal/protocol/xmltree"
)

// TestGranteeAttributes round-trips S3's AccessControlPolicy, whose Grantee carries an
// xsi:type attribute and an xmlns:xsi declaration.
func TestGranteeAttributes(t *testing.T) {
	svc := codectest.Model(t, "s3", "s3")
	pm := svc.Shapes["PutBucketAclRequest"].MemberByName("AccessControlPolicy")
	v := map[string]any{
		"Owner": map[string]any{"ID": "o1"},
		"Grants": []any{map[string]any{
			"Grantee":    map[string]any{"Type": "CanonicalUser", "ID": "u1"},
			"Permission": "FULL_CONTROL",
		}},
	}
	var b bytes.Buffer
	xmltree.WriteElement(&b, "AccessControlPolicy", pm, v, "")
	out := b.String()
	for _, want := range []string{
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>u1</ID></Grantee>`,
		`<AccessControlList><Grant>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("AccessControlPolicy = %s; want it to contain %s", out, want)
		}
	}
	root, err := xmltree.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, err := xmltree.DecodeStruct(root, pm.Shape, "", nil)
	if err != nil {
		t.Fatalf("DecodeStruct: %v", err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Errorf("round trip = %#v; want %#v", got, v)
	}
}

func TestFlattenedAndErrors(t *testing.T) {
	svcJSON := `{"metadata":{},"operations":{},"shapes":{
		"S":{"type":"string"},"N":{"type":"integer"},
		"L":{"type":"list","member":{"shape":"S","locationName":"Item"},"flattened":true},
		"M":{"type":"map","key":{"shape":"S"},"value":{"shape":"N"}},
		"T":{"type":"structure","members":{"Items":{"shape":"L"},"Counts":{"shape":"M"},"N":{"shape":"N"}}}}}`
	svc, err := model.Load("t", []byte(svcJSON))
	if err != nil {
		t.Fatal(err)
	}
	sh := svc.Shapes["T"]
	v := map[string]any{"Items": []any{"a", "b"}, "Counts": map[string]any{"x": int64(1), "y": int64(2)}, "N": int64(3)}
	var b bytes.Buffer
	xmltree.WriteElement(&b, "T", &model.Member{Shape: sh}, v, "")
	want := `<T><Item>a</Item><Item>b</Item><Counts><entry><key>x</key><value>1</value></entry><entry><key>y</key><value>2</value></entry></Counts><N>3</N></T>`
	if b.String() != want {
		t.Errorf("WriteElement = %s; want %s", b.String(), want)
	}
	root, _ := xmltree.Parse(strings.NewReader(want))
	got, err := xmltree.DecodeStruct(root, sh, "", nil)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Errorf("DecodeStruct = %#v, %v; want %#v", got, err, v)
	}
	root, _ = xmltree.Parse(strings.NewReader(`<T><Counts><entry><key>x</key><value>one</value></entry></Counts></T>`))
	if _, err := xmltree.DecodeStruct(root, sh, "", nil); err == nil || !strings.Contains(err.Error(), `Counts["x"]`) {
		t.Errorf("DecodeStruct of a bad number = %v; want an error naming Counts[\"x\"]", err)
	}
}
