package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// recordHead is the part of a CloudTrail record the event history indexes.
type recordHead struct {
	EventID            string       `json:"eventID"`
	EventTime          string       `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	ReadOnly           *bool        `json:"readOnly"`
	EventCategory      string       `json:"eventCategory"`
	RecipientAccountID string       `json:"recipientAccountId"`
	InsightDetails     *struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
	} `json:"insightDetails"`
	Resources []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
}

// ParseRecord turns one CloudTrail record, as found in a log file, into an event-history
// entry. The record is kept byte for byte.
func ParseRecord(raw json.RawMessage) (*store.Event, error) {
	p := parsers.Get().(*recordParser)
	defer parsers.Put(p)
	if ev, end, ok := p.parse(raw, 0); ok && end == len(raw) {
		return ev, nil
	}
	return parseRecordJSON(raw)
}

// parseRecordJSON is ParseRecord through encoding/json. recordParser.parse gives the same
// event for every record it accepts and leaves the rest (malformed records, and records
// it does not decode itself: see recordParser) to this, so errors come from here.
func parseRecordJSON(raw json.RawMessage) (*store.Event, error) {
	var h recordHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if h.InsightDetails != nil && h.EventName == "" {
		// Insights events name the API they are about inside insightDetails.
		h.EventName, h.EventSource = h.InsightDetails.EventName, h.InsightDetails.EventSource
		if h.EventCategory == "" {
			h.EventCategory = store.CategoryInsight
		}
	}
	switch {
	case h.EventID == "":
		return nil, fmt.Errorf("record has no eventID")
	case h.EventName == "" || h.EventSource == "":
		return nil, fmt.Errorf("record %s has no eventName or eventSource", h.EventID)
	}
	t, err := time.Parse(time.RFC3339, h.EventTime)
	if err != nil {
		return nil, fmt.Errorf("record %s: eventTime %q: %w", h.EventID, h.EventTime, err)
	}
	account := h.RecipientAccountID
	if account == "" {
		account = h.UserIdentity.AccountID
	}
	ro := ReadOnly("", h.EventName)
	if h.ReadOnly != nil {
		ro = *h.ReadOnly
	}
	ev := &store.Event{EventID: h.EventID, Time: t.UTC(), Account: account, Region: h.AWSRegion,
		EventName: h.EventName, EventSource: h.EventSource, Username: h.UserIdentity.Username(),
		AccessKeyID: h.UserIdentity.AccessKeyID, ReadOnly: ro, Category: h.EventCategory, Record: raw}
	if ev.Category == "" {
		ev.Category = store.CategoryManagement
	}
	if store.NormalizeCategory(ev.Category) == "" {
		return nil, fmt.Errorf("record %s: eventCategory %q is not one bannin keeps", h.EventID, ev.Category)
	}
	for _, r := range h.Resources {
		ev.Resources = append(ev.Resources, store.EventResource{Type: r.Type, Name: resourceName(r.ARN)})
	}
	return ev, nil
}

// resourceName is the name event history shows for a resource ARN: S3 buckets by name,
// everything else by ARN, as the CloudTrail console does.
func resourceName(arn string) string {
	if strings.HasPrefix(arn, "arn:aws:s3:::") && !strings.Contains(arn[len("arn:aws:s3:::"):], "/") {
		return arn[len("arn:aws:s3:::"):]
	}
	return arn
}

// parsers holds recordParsers for ParseRecord.
var parsers = sync.Pool{New: func() any { return &recordParser{} }}

// recordParser reads the head of a CloudTrail record straight from its bytes, in one pass
// that also checks the whole record is valid JSON, and builds the event with few
// allocations: repeated values (sources, names, regions, accounts, users, keys, resource
// types) are interned, the event ID and resource names share one string, and events come
// from a slab. It is what import spends its CPU on besides the store, so it avoids
// encoding/json's reflection and its second pass (json.Unmarshal validates, then decodes).
//
// It gives up (ok false) on anything it does not handle exactly as encoding/json does into
// recordHead: invalid JSON, a known key given twice, a key that matches a known field only
// case-insensitively or has escapes or non-ASCII bytes, a value of the wrong type, and
// records that would be rejected (no eventID, bad time or category). The caller then uses
// parseRecordJSON, so results and errors stay those of encoding/json.
//
// A recordParser is not safe for concurrent use.
type recordParser struct {
	b     []byte
	i     int
	stack []byte
	h     head
	// intern maps repeated values to one string each; cleared when it grows past internMax.
	intern map[string]string
	evs    []store.Event
	res    []store.EventResource
	buf    []byte
	// file is readLogFile's read buffer, fileEvs its events until the file is done.
	file    []byte
	fileEvs []*store.Event
}

// internMax bounds the intern map (about 100 bytes an entry).
const internMax = 8192

// jstr is a JSON string value in the record: its bytes with the quotes, and whether it
// needs decoding (escapes or non-ASCII bytes). A nil q is a missing or null value.
type jstr struct {
	q   []byte
	esc bool
}

// text is the string's contents between the quotes, undecoded.
func (v jstr) text() []byte {
	if v.q == nil {
		return nil
	}
	return v.q[1 : len(v.q)-1]
}

// head is what recordParser keeps of a record: recordHead, flattened.
type head struct {
	eventID, eventTime, eventSource, eventName, awsRegion, eventCategory, recipient jstr
	uiType, uiARN, uiAccount, uiKey, uiUserName, uiInvokedBy                        jstr
	readOnly, readOnlySet, insight                                                  bool
	insightName, insightSource                                                      jstr
	resources                                                                       []resourceHead
}

type resourceHead struct{ arn, typ jstr }

// The keys recordHead and its nested structs decode, per object.
var (
	topKeys     = []string{"eventID", "eventTime", "eventSource", "eventName", "awsRegion", "userIdentity", "readOnly", "eventCategory", "recipientAccountId", "insightDetails", "resources"}
	uiKeys      = []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext", "invokedBy"}
	sessionKeys = []string{"sessionIssuer", "attributes"}
	issuerKeys  = []string{"type", "principalId", "arn", "accountId", "userName"}
	attrKeys    = []string{"creationDate", "mfaAuthenticated"}
	insightKeys = []string{"eventName", "eventSource"}
	resKeys     = []string{"ARN", "type"}
)

// parse reads the record that starts at b[i] and returns its event and the offset just past
// it; ok false means the caller must parse it with parseRecordJSON.
func (p *recordParser) parse(b []byte, i int) (ev *store.Event, end int, ok bool) {
	p.b, p.i = b, i
	p.h = head{resources: p.h.resources[:0]}
	start := p.i
	if !p.record() {
		p.b = nil
		return nil, 0, false
	}
	end = p.i
	ev, ok = p.event(b[start:end:end])
	p.b = nil
	return ev, end, ok
}

// record reads the top-level object into p.h.
func (p *recordParser) record() bool {
	h := &p.h
	return p.object(topKeys, func(k int) bool {
		switch k {
		case 0:
			return p.str(&h.eventID)
		case 1:
			return p.str(&h.eventTime)
		case 2:
			return p.str(&h.eventSource)
		case 3:
			return p.str(&h.eventName)
		case 4:
			return p.str(&h.awsRegion)
		case 5:
			return p.userIdentity()
		case 6:
			switch {
			case p.lit("null"):
				h.readOnlySet = false
			case p.lit("true"):
				h.readOnly, h.readOnlySet = true, true
			case p.lit("false"):
				h.readOnly, h.readOnlySet = false, true
			default:
				return false
			}
			return true
		case 7:
			return p.str(&h.eventCategory)
		case 8:
			return p.str(&h.recipient)
		case 9:
			if p.lit("null") {
				return true
			}
			h.insight = true
			return p.object(insightKeys, func(k int) bool {
				if k == 0 {
					return p.str(&h.insightName)
				}
				return p.str(&h.insightSource)
			})
		default:
			return p.resources()
		}
	})
}

func (p *recordParser) userIdentity() bool {
	if p.lit("null") {
		return true
	}
	h := &p.h
	var skip jstr
	return p.object(uiKeys, func(k int) bool {
		switch k {
		case 0:
			return p.str(&h.uiType)
		case 2:
			return p.str(&h.uiARN)
		case 3:
			return p.str(&h.uiAccount)
		case 4:
			return p.str(&h.uiKey)
		case 5:
			return p.str(&h.uiUserName)
		case 6:
			if p.lit("null") {
				return true
			}
			return p.object(sessionKeys, func(k int) bool {
				if p.lit("null") {
					return true
				}
				names := attrKeys
				if k == 0 {
					names = issuerKeys
				}
				return p.object(names, func(int) bool { return p.str(&skip) })
			})
		case 7:
			return p.str(&h.uiInvokedBy)
		default:
			return p.str(&skip)
		}
	})
}

func (p *recordParser) resources() bool {
	if p.lit("null") {
		return true
	}
	if !p.eat('[') {
		return false
	}
	p.ws()
	if p.eat(']') {
		return true
	}
	for {
		p.ws()
		var r resourceHead
		if !p.lit("null") && !p.object(resKeys, func(k int) bool {
			if k == 0 {
				return p.str(&r.arn)
			}
			return p.str(&r.typ)
		}) {
			return false
		}
		p.h.resources = append(p.h.resources, r)
		p.ws()
		if p.eat(']') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// object reads an object whose keys in names are decoded by field(index in names), at
// most once each; other keys' values are checked and skipped. A key that is not one of
// names but equals one case-insensitively (encoding/json would decode it into that field),
// or has escapes or non-ASCII bytes, fails it.
func (p *recordParser) object(names []string, field func(k int) bool) bool {
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		return true
	}
	var seen uint32
	for {
		p.ws()
		var key jstr
		if !p.str(&key) || key.q == nil || key.esc {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		k := keyIndex(names, key.text())
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 || !field(k) {
				return false
			}
			seen |= 1 << k
		case k == -2:
			return false
		default:
			if !p.skip() {
				return false
			}
		}
		p.ws()
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// keyIndex is the index of key in names, -1 if it is none of them, -2 if it equals one
// only case-insensitively.
func keyIndex(names []string, key []byte) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for _, n := range names {
		if len(n) == len(key) && asciiEqualFold(n, key) {
			return -2
		}
	}
	return -1
}

func asciiEqualFold(s string, b []byte) bool {
	for i := range len(s) {
		x, y := s[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (p *recordParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *recordParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// lit reads the literal s (true, false or null) if it is next.
func (p *recordParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// strClass tells, for each byte, what it is inside a JSON string: 0 plain ASCII, 1 the
// closing quote, 2 a backslash, 3 a control character (invalid), 4 a non-ASCII byte
// (encoding/json takes invalid UTF-8 too, replacing it when decoding).
var strClass = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = 3
	}
	t['"'], t['\\'] = 1, 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return t
}()

// str reads a string or null into v.
func (p *recordParser) str(v *jstr) bool {
	if p.i >= len(p.b) {
		return false
	}
	if p.b[p.i] != '"' {
		if p.lit("null") {
			*v = jstr{}
			return true
		}
		return false
	}
	b := p.b
	start := p.i + 1
	esc := false
	for i := start; i < len(b); {
		switch strClass[b[i]] {
		case 0:
			i++
		case 1:
			*v = jstr{q: b[start-1 : i+1 : i+1], esc: esc}
			p.i = i + 1
			return true
		case 2:
			esc = true
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false
				}
				for _, c := range b[i+2 : i+6] {
					if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		case 3:
			return false
		default:
			esc = true
			i++
		}
	}
	return false
}

// maxSkipDepth is how deep skip follows nested values; deeper ones are left to
// encoding/json, which has its own limit (10,000 for the whole record).
const maxSkipDepth = 5000

// skip checks and moves past any JSON value.
func (p *recordParser) skip() bool {
	stack := p.stack[:0]
	defer func() { p.stack = stack[:0] }()
	for {
		// A value.
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch c := p.b[p.i]; {
		case c == '{':
			p.i++
			p.ws()
			if !p.eat('}') {
				if len(stack) >= maxSkipDepth {
					return false
				}
				stack = append(stack, '}')
				if !p.key() {
					return false
				}
				continue
			}
		case c == '[':
			p.i++
			p.ws()
			if !p.eat(']') {
				if len(stack) >= maxSkipDepth {
					return false
				}
				stack = append(stack, ']')
				continue
			}
		case c == '"':
			var s jstr
			if !p.str(&s) {
				return false
			}
		case c == 't':
			if !p.lit("true") {
				return false
			}
		case c == 'f':
			if !p.lit("false") {
				return false
			}
		case c == 'n':
			if !p.lit("null") {
				return false
			}
		default:
			if !p.number() {
				return false
			}
		}
		// After a value: close containers until a comma starts the next value.
		for {
			if len(stack) == 0 {
				return true
			}
			p.ws()
			if p.i >= len(p.b) {
				return false
			}
			c := p.b[p.i]
			if c == stack[len(stack)-1] {
				p.i++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return false
			}
			p.i++
			if stack[len(stack)-1] == '}' && !p.key() {
				return false
			}
			break
		}
	}
}

// key reads an object key and its colon.
func (p *recordParser) key() bool {
	p.ws()
	var k jstr
	if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str(&k) {
		return false
	}
	p.ws()
	return p.eat(':')
}

// number reads a JSON number.
func (p *recordParser) number() bool {
	b, i := p.b, p.i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	p.i = i
	return true
}

// string returns v decoded, interned if intern is set.
func (p *recordParser) string(v jstr, intern bool) string {
	if v.q == nil {
		return ""
	}
	if v.esc {
		var s string
		json.Unmarshal(v.q, &s) // p.str checked it: it decodes
		return s
	}
	t := v.text()
	if !intern {
		return string(t)
	}
	if s, ok := p.intern[string(t)]; ok {
		return s
	}
	if p.intern == nil || len(p.intern) >= internMax {
		p.intern = make(map[string]string, 256)
	}
	s := string(t)
	p.intern[s] = s
	return s
}

// event builds the event of the record in p.h, or gives up (ok false) where
// parseRecordJSON would reject the record, leaving the error to it.
func (p *recordParser) event(raw []byte) (*store.Event, bool) {
	h := &p.h
	name, source, category := h.eventName, h.eventSource, h.eventCategory
	insightCategory := false
	if h.insight && len(name.text()) == 0 {
		// Insights events name the API they are about inside insightDetails.
		name, source = h.insightName, h.insightSource
		insightCategory = len(category.text()) == 0
	}
	if len(h.eventID.text()) == 0 || len(name.text()) == 0 || len(source.text()) == 0 {
		return nil, false
	}
	t, ok := parseEventTime(h.eventTime)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339, p.string(h.eventTime, false)); err != nil {
			return nil, false
		}
		t = t.UTC()
	}
	if len(p.evs) == 0 {
		p.evs = make([]store.Event, 32)
	}
	ev := &p.evs[0]
	ev.EventName = p.string(name, true)
	ev.Category = store.CategoryInsight
	if !insightCategory {
		switch ev.Category = p.string(category, true); ev.Category {
		case "":
			ev.Category = store.CategoryManagement
		case store.CategoryManagement, store.CategoryData, store.CategoryInsight,
			store.CategoryActivityAuditLog, store.CategoryNetworkActivity:
		default:
			if store.NormalizeCategory(ev.Category) == "" {
				*ev = store.Event{}
				return nil, false
			}
		}
	}
	p.evs = p.evs[1:]
	ev.Time = t
	ev.EventSource = p.string(source, true)
	ev.Region = p.string(h.awsRegion, true)
	ev.Account = p.string(h.recipient, true)
	if ev.Account == "" {
		ev.Account = p.string(h.uiAccount, true)
	}
	ui := UserIdentity{Type: p.string(h.uiType, true), ARN: p.string(h.uiARN, true),
		UserName: p.string(h.uiUserName, true), InvokedBy: p.string(h.uiInvokedBy, true)}
	ev.Username = ui.Username()
	ev.AccessKeyID = p.string(h.uiKey, true)
	ev.ReadOnly = h.readOnly
	if !h.readOnlySet {
		ev.ReadOnly = ReadOnly("", ev.EventName)
	}
	ev.Record = raw
	// The event ID and the resources' ARNs, unique to the record, share one allocation.
	buf := p.buf[:0]
	if !h.eventID.esc {
		buf = append(buf, h.eventID.text()...)
	}
	for _, r := range h.resources {
		if !r.arn.esc {
			buf = append(buf, r.arn.text()...)
		}
	}
	p.buf = buf
	all := string(buf)
	if h.eventID.esc {
		ev.EventID = p.string(h.eventID, false)
	} else {
		ev.EventID, all = all[:len(h.eventID.text())], all[len(h.eventID.text()):]
	}
	if n := len(h.resources); n > 0 {
		if len(p.res) < n {
			p.res = make([]store.EventResource, max(64, n))
		}
		ev.Resources, p.res = p.res[:n:n], p.res[n:]
		for i, r := range h.resources {
			var arn string
			if r.arn.esc {
				arn = p.string(r.arn, false)
			} else {
				arn, all = all[:len(r.arn.text())], all[len(r.arn.text()):]
			}
			ev.Resources[i] = store.EventResource{Type: p.string(r.typ, true), Name: resourceName(arn)}
		}
	}
	return ev, true
}

// parseEventTime reads CloudTrail's usual eventTime (2006-01-02T15:04:05Z) as
// time.Parse(time.RFC3339) does; ok false for any other form or an out-of-range field, which
// time.Parse then handles.
func parseEventTime(v jstr) (t time.Time, ok bool) {
	s := v.text()
	if v.esc || len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	if day > days {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}
