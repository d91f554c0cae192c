package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// How evaluation results are stored.
//
// A change to a resource is evaluated by every rule in its scope at once (100 rules per
// change in the benchmark of BENCHMARKS.md 3.2), and AWS updates ResultRecordedTime and
// ConfigRuleInvokedTime of every one of them, whether its compliance changed or not. So the
// latest result of every rule for one resource is one value (bucketResult, a resultSet): a
// change costs one read and one write however many rules evaluate it, instead of one of each
// per rule.
//
// The rules' side is an index (bucketEval, keyed by rule id so that a rule's results are
// one prefix): its value is only the compliance type, written when a result appears,
// changes compliance or goes away, so rule-wide queries (compliance by rule, a rule's
// resources) list it without reading every resource. The results a rule had before its
// latest compliance change are its history (bucketEvalHist), also written only on change.

// Buckets of the stored results (bucketEval is in compliance.go).
const (
	bucketResult   = "cfg.result"   // account|region|type|id -> resultSet
	bucketEvalHist = "cfg.evalhist" // account|region|ruleID|type|id -> []pastResult
	bucketEvalFmt  = "cfg.evalfmt"  // "" -> evalFormat once older records are converted
)

// evalFormat is the bucketEvalFmt value of the current layout.
const evalFormat = "2"

// resultSet is the latest result of each rule (by rule id) for one resource.
//
// It is stored as text, small enough to stay within one database page for a hundred rules:
// a first line "TAB time TAB time ..." lists the distinct times of the results (Unix
// nanoseconds; most results of a resource share them), then one line per rule,
// "id TAB compliance TAB ordering TAB recorded TAB invoked TAB annotation", where times are
// indexes into that list, the id is without its "config-rule-" prefix (else it is written
// whole after a "!"), and the compliance type is one letter (C, N, A, I) when it is one of
// those. Tabs, newlines and backslashes in fields are escaped. It is decoded only as far as
// needed: a full evaluation of one rule replaces one line of each resource's set without
// decoding the others.
type resultSet struct {
	times []int64
	lines map[string]string // rule id -> the rest of its line
}

// storedResult is one rule's latest result for a resource; times are Unix nanoseconds.
type storedResult struct {
	Compliance string
	Annotation string
	Ordering   int64
	Recorded   int64
	Invoked    int64
}

const ruleIDPrefix = "config-rule-"

var complianceCodes = map[string]string{Compliant: "C", NonCompliant: "N", NotApplicable: "A", InsufficientData: "I"}
var complianceOfCode = map[string]string{"C": Compliant, "N": NonCompliant, "A": NotApplicable, "I": InsufficientData}

func resultKey(account, region, typ, id string) string { return key(account, region, typ, id) }

func decodeResultSet(k string, b []byte) (*resultSet, error) {
	rs := &resultSet{lines: map[string]string{}}
	s := string(b)
	first := true
	for s != "" {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if first && strings.HasPrefix(line, "\t") {
			for _, f := range strings.Split(line[1:], "\t") {
				t, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("compliance: decode results %s: time %q: %w", k, f, err)
				}
				rs.times = append(rs.times, t)
			}
			first = false
			continue
		}
		first = false
		t := strings.IndexByte(line, '\t')
		if t < 0 {
			return nil, fmt.Errorf("compliance: decode results %s: a line without fields", k)
		}
		id := line[:t]
		if strings.HasPrefix(id, "!") {
			id = unescapeField(id[1:])
		} else {
			id = ruleIDPrefix + id
		}
		rs.lines[id] = line[t+1:]
	}
	return rs, nil
}

// lineFields splits a line (after its id) into compliance, the three time indexes
// (ordering, recorded, invoked) and the annotation.
func lineFields(l string) []string { return strings.SplitN(l, "\t", 5) }

func (rs *resultSet) encode() []byte {
	ids := make([]string, 0, len(rs.lines))
	n := 0
	for id, l := range rs.lines {
		ids = append(ids, id)
		n += len(id) + len(l) + 2
	}
	slices.Sort(ids)
	// Keep only the times still referred to, renumbered in order of first use.
	renum := make([]int, len(rs.times))
	for i := range renum {
		renum[i] = -1
	}
	var times []int64
	identity := true
	lines := make([]string, len(ids))
	for j, id := range ids {
		l := rs.lines[id]
		f := lineFields(l)
		if len(f) != 5 {
			lines[j] = l
			continue
		}
		for i := 1; i <= 3; i++ {
			x, err := strconv.Atoi(f[i])
			if err != nil || x < 0 || x >= len(rs.times) {
				continue
			}
			if renum[x] < 0 {
				renum[x] = len(times)
				times = append(times, rs.times[x])
			}
			if renum[x] != x {
				identity = false
			}
			f[i] = strconv.Itoa(renum[x])
		}
		if identity {
			lines[j] = l
		} else {
			lines[j] = strings.Join(f, "\t")
		}
	}
	if !identity || len(times) != len(rs.times) {
		// Lines written before a renumbering began keep indexes that renum maps to
		// themselves, so only the lines after it were rewritten; that is right.
		rs.times = times
	}
	b := make([]byte, 0, n+20*len(rs.times)+2)
	if len(rs.times) > 0 {
		for _, t := range rs.times {
			b = append(b, '\t')
			b = strconv.AppendInt(b, t, 10)
		}
		b = append(b, '\n')
	}
	for j, id := range ids {
		if len(id) > len(ruleIDPrefix) && strings.HasPrefix(id, ruleIDPrefix) && !strings.ContainsAny(id, "\\\t\n") && !strings.HasPrefix(id[len(ruleIDPrefix):], "!") {
			b = append(b, id[len(ruleIDPrefix):]...)
		} else {
			b = append(b, '!')
			b = appendField(b, id)
		}
		b = append(b, '\t')
		b = append(b, lines[j]...)
		b = append(b, '\n')
	}
	return b
}

func (rs *resultSet) len() int { return len(rs.lines) }

// get returns a rule's result (nil if it has none, or its line is damaged).
func (rs *resultSet) get(ruleID string) *storedResult {
	l, ok := rs.lines[ruleID]
	if !ok {
		return nil
	}
	f := lineFields(l)
	if len(f) != 5 {
		return nil
	}
	r := &storedResult{Compliance: f[0], Annotation: unescapeField(f[4])}
	if c, ok := complianceOfCode[f[0]]; ok {
		r.Compliance = c
	} else {
		r.Compliance = unescapeField(f[0])
	}
	var ts [3]int64
	for i := range ts {
		x, err := strconv.Atoi(f[i+1])
		if err != nil || x < 0 || x >= len(rs.times) {
			return nil
		}
		ts[i] = rs.times[x]
	}
	r.Ordering, r.Recorded, r.Invoked = ts[0], ts[1], ts[2]
	return r
}

// timeIndex returns the index of t in the set's times, adding it when new.
func (rs *resultSet) timeIndex(t int64) int {
	for i, x := range rs.times {
		if x == t {
			return i
		}
	}
	rs.times = append(rs.times, t)
	return len(rs.times) - 1
}

func (rs *resultSet) put(ruleID string, r *storedResult) {
	b := make([]byte, 0, 16+len(r.Compliance)+len(r.Annotation))
	if c, ok := complianceCodes[r.Compliance]; ok {
		b = append(b, c...)
	} else {
		b = appendField(b, r.Compliance)
	}
	for _, t := range []int64{r.Ordering, r.Recorded, r.Invoked} {
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(rs.timeIndex(t)), 10)
	}
	b = append(b, '\t')
	b = appendField(b, r.Annotation)
	rs.lines[ruleID] = string(b)
}

func (rs *resultSet) del(ruleID string) { delete(rs.lines, ruleID) }

// appendField appends s with backslashes, tabs and newlines escaped.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\\\t\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

func unescapeField(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			default:
				c = s[i]
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func loadResultSet(ctx context.Context, tx store.ReadTx, account, region, typ, id string) (*resultSet, error) {
	k := resultKey(account, region, typ, id)
	b, err := tx.Get(ctx, bucketResult, k)
	if err != nil || b == nil {
		return nil, err
	}
	return decodeResultSet(k, b)
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func nanos(t time.Time) int64 { return t.UnixNano() }

// record returns the result as the evalRecord of a rule (by name) for a resource.
func (r *storedResult) record(rule, typ, id string) *evalRecord {
	return &evalRecord{Rule: rule, ResourceType: typ, ResourceID: id, Compliance: r.Compliance, Annotation: r.Annotation,
		Ordering: fromNanos(r.Ordering), Recorded: fromNanos(r.Recorded), Invoked: fromNanos(r.Invoked)}
}

func storedOf(rec *evalRecord) *storedResult {
	return &storedResult{Compliance: rec.Compliance, Annotation: rec.Annotation,
		Ordering: nanos(rec.Ordering), Recorded: nanos(rec.Recorded), Invoked: nanos(rec.Invoked)}
}

// results are the result sets a transaction reads and changes: each is read and decoded
// once and written once, by flush, however many rules evaluate the resource. They also
// keep the remediation configurations that changes of compliance read.
type results struct {
	tx       store.Tx
	sets     map[string]*resultSet
	dirty    map[string]bool
	remedies map[string]*storedRemedy // account|region|rule -> configuration (nil: none)
}

func newResults(tx store.Tx) *results {
	return &results{tx: tx, sets: map[string]*resultSet{}, dirty: map[string]bool{}, remedies: map[string]*storedRemedy{}}
}

// remedy returns a rule's remediation configuration (nil if none), read once.
func (rs *results) remedy(ctx context.Context, account, region, rule string) (*storedRemedy, error) {
	k := key(account, region, rule)
	if r, ok := rs.remedies[k]; ok {
		return r, nil
	}
	r, err := loadRemedy(ctx, rs.tx, account, region, rule)
	if err != nil {
		return nil, err
	}
	rs.remedies[k] = r
	return r, nil
}

// set returns the result set of a resource (empty when it has none yet).
func (rs *results) set(ctx context.Context, account, region, typ, id string) (string, *resultSet, error) {
	k := resultKey(account, region, typ, id)
	if s := rs.sets[k]; s != nil {
		return k, s, nil
	}
	b, err := rs.tx.Get(ctx, bucketResult, k)
	if err != nil {
		return "", nil, fmt.Errorf("compliance: load results: %w", err)
	}
	s := &resultSet{lines: map[string]string{}}
	if b != nil {
		if s, err = decodeResultSet(k, b); err != nil {
			return "", nil, err
		}
	}
	rs.sets[k] = s
	return k, s, nil
}

// flush writes the changed result sets (in key order) and forgets them.
func (rs *results) flush(ctx context.Context) error {
	keys := make([]string, 0, len(rs.dirty))
	for k := range rs.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := rs.sets[k]
		if s.len() == 0 {
			if err := rs.tx.Delete(ctx, bucketResult, k); err != nil {
				return fmt.Errorf("compliance: delete results: %w", err)
			}
			continue
		}
		if err := rs.tx.Put(ctx, bucketResult, k, s.encode()); err != nil {
			return fmt.Errorf("compliance: save results: %w", err)
		}
	}
	clear(rs.dirty)
	clear(rs.sets)
	return nil
}

// put stores a rule's result for a resource and returns the one it replaces (nil if none).
// It keeps the index and the history right; a result older (by ordering) than the stored
// one is ignored (stored false).
func (rs *results) put(ctx context.Context, account, region string, r *storedRule, rec *evalRecord) (prev *evalRecord, stored bool, err error) {
	k, s, err := rs.set(ctx, account, region, rec.ResourceType, rec.ResourceID)
	if err != nil {
		return nil, false, err
	}
	cur := storedOf(rec)
	old := s.get(r.ID)
	if old != nil && cur.Ordering < old.Ordering {
		return nil, false, nil // an older result arriving late
	}
	s.put(r.ID, cur)
	rs.dirty[k] = true
	ik := evalKey(account, region, r, rec.ResourceType, rec.ResourceID)
	if old == nil || old.Compliance != cur.Compliance {
		if err := rs.tx.Put(ctx, bucketEval, ik, []byte(cur.Compliance)); err != nil {
			return nil, false, fmt.Errorf("compliance: save evaluation: %w", err)
		}
	}
	if old == nil {
		return nil, true, nil
	}
	if old.Compliance != cur.Compliance || old.Annotation != cur.Annotation {
		if err := appendHistory(ctx, rs.tx, ik, pastResult{Compliance: old.Compliance, Annotation: old.Annotation, Recorded: fromNanos(old.Recorded)}); err != nil {
			return nil, false, err
		}
	}
	return old.record(r.Name, rec.ResourceType, rec.ResourceID), true, nil
}

// drop removes a rule's result for a resource and returns it (nil if there was none).
func (rs *results) drop(ctx context.Context, account, region string, r *storedRule, typ, id string) (*evalRecord, error) {
	k, s, err := rs.set(ctx, account, region, typ, id)
	if err != nil {
		return nil, err
	}
	old := s.get(r.ID)
	if old == nil {
		if _, damaged := s.lines[r.ID]; damaged {
			s.del(r.ID)
			rs.dirty[k] = true
		}
		return nil, nil
	}
	s.del(r.ID)
	rs.dirty[k] = true
	ik := evalKey(account, region, r, typ, id)
	if err := rs.tx.Delete(ctx, bucketEval, ik); err != nil {
		return nil, fmt.Errorf("compliance: delete evaluation: %w", err)
	}
	if err := rs.tx.Delete(ctx, bucketEvalHist, ik); err != nil {
		return nil, fmt.Errorf("compliance: delete evaluation history: %w", err)
	}
	return old.record(r.Name, typ, id), nil
}

// appendHistory adds an earlier result to an evaluation's history (the last historyLen).
func appendHistory(ctx context.Context, tx store.Tx, ik string, p pastResult) error {
	var hist []pastResult
	b, err := tx.Get(ctx, bucketEvalHist, ik)
	if err != nil {
		return fmt.Errorf("compliance: load evaluation history: %w", err)
	}
	if b != nil {
		if err := json.Unmarshal(b, &hist); err != nil {
			return fmt.Errorf("compliance: decode evaluation history %s: %w", ik, err)
		}
	}
	hist = append(hist, p)
	if len(hist) > historyLen {
		hist = hist[len(hist)-historyLen:]
	}
	return saveJSON(ctx, tx, bucketEvalHist, ik, hist)
}

// indexed is one entry of a rule's index: a resource and its compliance.
type indexed struct {
	key, typ, id, compliance string
}

// ruleIndexed lists a rule's index (resources in key order, after `after` when given).
func ruleIndexed(ctx context.Context, tx store.ReadTx, account, region string, r *storedRule) ([]indexed, error) {
	prefix := key(account, region, r.ID, "")
	kvs, err := store.ListAll(ctx, tx, bucketEval, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]indexed, 0, len(kvs))
	for _, kv := range kvs {
		parts := splitKey(kv.Key[len(prefix):], 2)
		if len(parts) != 2 {
			continue
		}
		out = append(out, indexed{key: kv.Key, typ: parts[0], id: parts[1], compliance: string(kv.Value)})
	}
	return out, nil
}

// fullRecord reads a rule's whole latest result for a resource (nil if it has none).
func fullRecord(ctx context.Context, tx store.ReadTx, account, region string, r *storedRule, typ, id string) (*evalRecord, error) {
	s, err := loadResultSet(ctx, tx, account, region, typ, id)
	if err != nil || s == nil {
		return nil, err
	}
	if res := s.get(r.ID); res != nil {
		return res.record(r.Name, typ, id), nil
	}
	return nil, nil
}

// dropRuleResults removes every result of a rule (the rule is deleted, or its results are).
func dropRuleResults(ctx context.Context, tx store.Tx, account, region string, r *storedRule) error {
	idx, err := ruleIndexed(ctx, tx, account, region, r)
	if err != nil {
		return err
	}
	rs := newResults(tx)
	for i, e := range idx {
		if _, err := rs.drop(ctx, account, region, r, e.typ, e.id); err != nil {
			return err
		}
		if i%1000 == 999 {
			if err := rs.flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := rs.flush(ctx); err != nil {
		return err
	}
	// Anything left from an interrupted layout change.
	if err := deletePrefix(ctx, tx, bucketEval, key(account, region, r.ID, "")); err != nil {
		return err
	}
	return deletePrefix(ctx, tx, bucketEvalHist, key(account, region, r.ID, ""))
}

// convertResults moves evaluation records of the first layout (one JSON evalRecord per
// rule and resource in bucketEval, with its history) to the current one, once per store.
func convertResults(ctx context.Context, tx store.Tx) error {
	b, err := tx.Get(ctx, bucketEvalFmt, "")
	if err != nil || string(b) == evalFormat {
		return err
	}
	rs := newResults(tx)
	after := ""
	for {
		kvs, err := tx.List(ctx, bucketEval, "", after, 1000)
		if err != nil {
			return fmt.Errorf("compliance: list %s: %w", bucketEval, err)
		}
		for _, kv := range kvs {
			if len(kv.Value) == 0 || kv.Value[0] != '{' {
				continue
			}
			var old struct {
				evalRecord
				History []pastResult `json:"history,omitempty"`
			}
			if err := json.Unmarshal(kv.Value, &old); err != nil {
				return fmt.Errorf("compliance: decode evaluation %s: %w", kv.Key, err)
			}
			parts := splitKey(kv.Key, 5)
			if len(parts) != 5 {
				continue
			}
			k, s, err := rs.set(ctx, parts[0], parts[1], parts[3], parts[4])
			if err != nil {
				return err
			}
			s.put(parts[2], storedOf(&old.evalRecord))
			rs.dirty[k] = true
			if err := tx.Put(ctx, bucketEval, kv.Key, []byte(old.Compliance)); err != nil {
				return fmt.Errorf("compliance: save evaluation: %w", err)
			}
			if len(old.History) > 0 {
				if err := saveJSON(ctx, tx, bucketEvalHist, kv.Key, old.History); err != nil {
					return err
				}
			}
		}
		if err := rs.flush(ctx); err != nil {
			return err
		}
		if len(kvs) < 1000 {
			break
		}
		after = kvs[len(kvs)-1].Key
	}
	return tx.Put(ctx, bucketEvalFmt, "", []byte(evalFormat))
}
