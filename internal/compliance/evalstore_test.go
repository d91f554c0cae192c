package compliance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// resourceDetails returns every rule's result for a bucket, by rule name.
func (h *harness) resourceDetails(id string) map[string]config.EvaluationResult {
	h.t.Helper()
	out := map[string]config.EvaluationResult{}
	if err := h.read(func(ctx context.Context) error {
		r, err := h.s.GetComplianceDetailsByResource(ctx, &config.GetComplianceDetailsByResourceRequest{ResourceType: ptr("AWS::S3::Bucket"),
			ResourceId: &id, ComplianceTypes: []string{Compliant, NonCompliant, NotApplicable}})
		if err != nil {
			return err
		}
		for _, e := range r.EvaluationResults {
			out[*e.EvaluationResultIdentifier.EvaluationResultQualifier.ConfigRuleName] = e
		}
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// handleAll hands every pending entry to the consumer's Handle, as the stream runner does.
func (h *harness) handleAll(after *int64) {
	h.t.Helper()
	es := h.pending(after)
	if len(es) == 0 {
		return
	}
	if err := h.s.handle(context.Background(), selectEntries(es)); err != nil {
		h.t.Fatal(err)
	}
}

// A batch split over many transactions (one unit each) gives the results one transaction
// would; a re-evaluation that changes nothing still moves ResultRecordedTime; a change of
// compliance keeps the earlier result in the history.
func TestResultsOverTransactions(t *testing.T) {
	h := newHarness(t)
	h.s.budget = time.Nanosecond
	var seq int64
	h.record(bucket("a", "Enabled"))
	h.record(bucket("b", "Off"))
	if err := h.putRule(managedRule("versioning", "S3_BUCKET_VERSIONING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	if err := h.putRule(managedRule("logging", "S3_BUCKET_LOGGING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	h.handleAll(&seq)
	if got := h.results("versioning"); got["a"] != Compliant || got["b"] != NonCompliant || len(got) != 2 {
		t.Fatalf("versioning results = %v; want a COMPLIANT, b NON_COMPLIANT", got)
	}
	first := h.resourceDetails("a")
	if len(first) != 2 || *first["versioning"].ComplianceType != Compliant || *first["logging"].ComplianceType != NonCompliant {
		t.Fatalf("results of a = %v; want versioning COMPLIANT, logging NON_COMPLIANT", first)
	}

	h.advance(time.Minute)
	notes := len(h.notes)
	h.record(bucket("a", "Enabled")) // a change that changes no result
	h.record(bucket("b", "Enabled")) // b turns COMPLIANT for versioning
	h.handleAll(&seq)
	again := h.resourceDetails("a")
	for _, rule := range []string{"versioning", "logging"} {
		if got, want := *again[rule].ResultRecordedTime, first[rule].ResultRecordedTime.Add(time.Minute); !got.Equal(want) {
			t.Errorf("%s: ResultRecordedTime = %v; want %v (re-evaluated)", rule, got, want)
		}
		if got := *again[rule].ConfigRuleInvokedTime; !got.Equal(h.now) {
			t.Errorf("%s: ConfigRuleInvokedTime = %v; want %v", rule, got, h.now)
		}
		if *again[rule].ComplianceType != *first[rule].ComplianceType {
			t.Errorf("%s: compliance %s; want %s", rule, *again[rule].ComplianceType, *first[rule].ComplianceType)
		}
	}
	if len(h.notes) != notes+1 || h.notes[notes]["resourceId"] != "b" {
		t.Fatalf("notifications after the change: %d new (%v); want one, for b", len(h.notes)-notes, h.notes[notes:])
	}
	if got := h.results("versioning"); got["b"] != Compliant {
		t.Fatalf("versioning results = %v; want b COMPLIANT", got)
	}
	var hist []pastResult
	if err := h.st.View(context.Background(), func(tx store.ReadTx) error {
		r, err := loadRule(context.Background(), tx, acct, reg, "versioning")
		if err != nil {
			return err
		}
		b, err := tx.Get(context.Background(), bucketEvalHist, evalKey(acct, reg, r, "AWS::S3::Bucket", "b"))
		if err != nil || b == nil {
			return err
		}
		return json.Unmarshal(b, &hist)
	}); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Compliance != NonCompliant {
		t.Errorf("history of versioning for b = %+v; want the NON_COMPLIANT result", hist)
	}

	// Deleting a rule's results leaves the other rule's.
	if err := h.do(func(ctx context.Context) error {
		_, err := h.s.DeleteEvaluationResults(ctx, &config.DeleteEvaluationResultsRequest{ConfigRuleName: ptr("versioning")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := h.resourceDetails("b"); len(got) != 1 || got["logging"].ComplianceType == nil {
		t.Errorf("results of b after DeleteEvaluationResults(versioning) = %v; want logging only", got)
	}
	if got := h.results("versioning"); len(got) != 0 {
		t.Errorf("versioning results after DeleteEvaluationResults = %v; want none", got)
	}
}

// Results stored in the first layout (one JSON record per rule and resource) are converted
// once, with their times and history.
func TestConvertResults(t *testing.T) {
	h := newHarness(t)
	if err := h.putRule(managedRule("versioning", "S3_BUCKET_VERSIONING_ENABLED")); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	ctx := context.Background()
	if err := h.st.Update(ctx, func(tx store.Tx) error {
		r, err := loadRule(ctx, tx, acct, reg, "versioning")
		if err != nil {
			return err
		}
		old := `{"rule":"versioning","type":"AWS::S3::Bucket","id":"legacy","compliance":"NON_COMPLIANT","annotation":"off",` +
			`"ordering":"2025-06-01T11:59:00Z","recorded":"` + at.Format(time.RFC3339Nano) + `","invoked":"` + at.Format(time.RFC3339Nano) + `",` +
			`"history":[{"compliance":"COMPLIANT","recorded":"2025-05-01T00:00:00Z"}]}`
		return tx.Put(ctx, bucketEval, evalKey(acct, reg, r, "AWS::S3::Bucket", "legacy"), []byte(old))
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.convert(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.resourceDetails("legacy")["versioning"]
	if got.ComplianceType == nil || *got.ComplianceType != NonCompliant || *got.Annotation != "off" || !got.ResultRecordedTime.Equal(at) {
		t.Fatalf("converted result = %+v; want NON_COMPLIANT, annotation off, recorded %v", got, at)
	}
	if res := h.results("versioning"); res["legacy"] != NonCompliant {
		t.Errorf("versioning results = %v; want legacy NON_COMPLIANT", res)
	}
	if err := h.st.View(ctx, func(tx store.ReadTx) error {
		r, _ := loadRule(ctx, tx, acct, reg, "versioning")
		b, err := tx.Get(ctx, bucketEvalHist, evalKey(acct, reg, r, "AWS::S3::Bucket", "legacy"))
		if err != nil {
			return err
		}
		if string(b) != `[{"compliance":"COMPLIANT","recorded":"2025-05-01T00:00:00Z"}]` {
			t.Errorf("converted history = %s", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// IAM_ROOT_ACCESS_KEY_CHECK reads the root user's keys through Options.RootAccessKeys when
// it is put and at each period; without that option it records nothing.
func TestRootAccessKeyRule(t *testing.T) {
	h := newHarness(t)
	var seq int64
	keys := []string{"AKIAROOT"}
	h.s.opts.RootAccessKeys = func(ctx context.Context, account string) ([]string, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if account != acct {
			return nil, nil
		}
		return keys, nil
	}
	r := managedRule("root-keys", "IAM_ROOT_ACCESS_KEY_CHECK")
	r.MaximumExecutionFrequency = ptr("One_Hour")
	if err := h.putRule(r); err != nil {
		t.Fatal(err)
	}
	h.pump(&seq)
	if got := h.results("root-keys"); got[acct] != NonCompliant || len(got) != 1 {
		t.Fatalf("results with a root key = %v; want the account NON_COMPLIANT", got)
	}
	h.mu.Lock()
	keys = nil
	h.mu.Unlock()
	h.advance(61 * time.Minute)
	if err := h.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.results("root-keys"); got[acct] != Compliant {
		t.Fatalf("results after the key is gone = %v; want the account COMPLIANT", got)
	}

	h.s.opts.RootAccessKeys = nil
	h.advance(61 * time.Minute)
	if err := h.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.results("root-keys"); len(got) != 0 {
		t.Fatalf("results without RootAccessKeys = %v; want none", got)
	}
}

// A result set keeps every field, whatever characters the name and annotation hold.
func TestResultSetEncoding(t *testing.T) {
	set := &resultSet{lines: map[string]string{}}
	set.put("config-rule-gone", &storedResult{Compliance: Compliant, Ordering: 42, Recorded: 43, Invoked: 44})
	set.del("config-rule-gone")
	want := map[string]*storedResult{
		"config-rule-a1b2c3": {Compliance: Compliant, Ordering: 1, Recorded: 2, Invoked: 2},
		"config-rule-d4e5f6": {Compliance: NonCompliant, Annotation: `back\slash, \t literal` + "\ttab\n",
			Ordering: -5, Recorded: 1767225600123456789, Invoked: 1767225600123456789},
		"odd\tid\\":       {Compliance: "SOMETHING_ELSE", Ordering: 7, Recorded: 7, Invoked: 8},
		"config-rule-":    {Compliance: NotApplicable, Ordering: 2, Recorded: 2, Invoked: 2},
		"config-rule-!x":  {Compliance: InsufficientData, Ordering: 1, Recorded: 1, Invoked: 1},
		"config-rule-old": {Compliance: Compliant, Ordering: 99, Recorded: 99, Invoked: 99},
	}
	for id, r := range want {
		set.put(id, r)
	}
	// A result replaced leaves its times unused: they are dropped and the others renumbered.
	set.put("config-rule-old", &storedResult{Compliance: NonCompliant, Ordering: 1, Recorded: 2, Invoked: 2})
	want["config-rule-old"] = &storedResult{Compliance: NonCompliant, Ordering: 1, Recorded: 2, Invoked: 2}
	enc := set.encode()
	if strings.Contains(string(enc), "99") {
		t.Errorf("encoded set keeps an unused time: %q", enc)
	}
	got, err := decodeResultSet("k", enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.len() != len(want) {
		t.Fatalf("decoded %d results; want %d", got.len(), len(want))
	}
	for id, r := range want {
		if g := got.get(id); g == nil || *g != *r {
			t.Errorf("result %q = %+v; want %+v", id, g, r)
		}
	}
	if got.get("absent") != nil {
		t.Error("a rule without a result has one")
	}
}
