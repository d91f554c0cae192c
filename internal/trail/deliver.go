package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	cwlogs "github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// deliveredKV keeps, per trail, the Seq of the last api-call entry delivered to its log
// group, written in the same transaction as the log events: a replayed entry is skipped.
const deliveredKV = "trail.cwl"

// Consumers delivers each recorded call to the CloudWatch Logs group of every logging trail
// that selects it, in the stream <account>_CloudTrail_<region> as CloudTrail names it.
func (s *Service) Consumers() []stream.Consumer {
	if s.opts.Store == nil {
		return nil
	}
	return []stream.Consumer{{Name: "trail.cloudwatch-logs", Kinds: []string{store.KindAPICall}, Batch: 500,
		Handle: s.deliverLogs}}
}

// recordHead is what delivery reads of a CloudTrail record.
type recordHead struct {
	EventTime          string `json:"eventTime"`
	EventSource        string `json:"eventSource"`
	EventName          string `json:"eventName"`
	EventType          string `json:"eventType"`
	AWSRegion          string `json:"awsRegion"`
	ReadOnly           *bool  `json:"readOnly"`
	EventCategory      string `json:"eventCategory"`
	ManagementEvent    *bool  `json:"managementEvent"`
	ErrorCode          string `json:"errorCode"`
	RecipientAccountID string `json:"recipientAccountId"`
	UserIdentity       struct {
		ARN string `json:"arn"`
	} `json:"userIdentity"`
	Resources []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
}

func (s *Service) deliverLogs(ctx context.Context, entries []store.Entry) error {
	// Without a trail that delivers to CloudWatch Logs (the common case) there is nothing
	// to do, and no turn in the store's single writer (which every recorded call waits
	// for) is needed to know it: nothing has saved a trail with a log group since the
	// writer last found none.
	if s.idle.Load() == logGroupSaves.Load() {
		return nil
	}
	// Trails are read in the transaction that delivers, so that a StopLogging committed
	// meanwhile is seen.
	idleAt := int64(-1)
	err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
		// Trails are only saved inside the writer, so no save runs between this load and
		// the read below: a later save changes logGroupSaves and the next batch looks again.
		saves := logGroupSaves.Load()
		none, err := s.deliverIn(ctx, tx, entries)
		if none {
			idleAt = saves
		}
		return err
	})
	if err == nil && idleAt >= 0 {
		// Only once committed: a failed commit may have undone a deletion the read saw.
		s.idle.Store(idleAt)
	}
	return err
}

// logGroupSaves counts the saves of trails with a CloudWatch Logs group, in any Service
// of the process (one counter is only ever too cautious). A Service's idle holds its value
// when a delivery transaction last found no trail delivering (-1: not known yet).
var logGroupSaves atomic.Int64

// owned is a trail with the account it belongs to.
type owned struct {
	*Trail
	account string
}

// deliverIn delivers entries to the log groups of the trails that select them; none
// reports that no trail delivers to CloudWatch Logs at all.
func (s *Service) deliverIn(ctx context.Context, tx store.Tx, entries []store.Entry) (none bool, err error) {
	rs, err := store.AllResources(ctx, tx, store.ResourceQuery{Type: ResourceType})
	if err != nil {
		return false, err
	}
	var trails []owned
	for _, r := range rs {
		t, err := decode(r)
		if err != nil {
			return false, err
		}
		if t.CloudWatchLogsLogGroupArn != "" && t.StartLoggingTime != nil {
			trails = append(trails, owned{t, r.Account})
		}
	}
	if len(trails) == 0 {
		return true, nil
	}
	type pending struct {
		cwlogs.InputEvent
		seq int64
	}
	type batch struct {
		trail  owned
		group  string
		region string
		evs    []pending
		last   int64
	}
	batches := map[string]*batch{}
	var order []string
	for _, e := range entries {
		var h recordHead
		if err := json.Unmarshal(e.Payload, &h); err != nil {
			continue // not a record delivery can read; nothing to deliver
		}
		for _, t := range trails {
			if !t.loggingAt(e.Time) || !t.logs(&h, t.account) {
				continue
			}
			b := batches[t.TrailARN]
			if b == nil {
				region, group, ok := parseLogGroupARN(t.CloudWatchLogsLogGroupArn)
				if !ok {
					continue
				}
				b = &batch{trail: t, group: group, region: region}
				batches[t.TrailARN] = b
				order = append(order, t.TrailARN)
			}
			ts := e.Time
			if et, err := time.Parse(time.RFC3339, h.EventTime); err == nil {
				ts = et
			}
			b.evs = append(b.evs, pending{cwlogs.InputEvent{Timestamp: ts.UnixMilli(), Message: string(e.Payload)}, e.Seq})
			b.last = e.Seq
		}
	}
	for _, arn := range order {
		b := batches[arn]
		done := int64(0)
		if v, err := tx.Get(ctx, deliveredKV, arn); err != nil {
			return false, err
		} else if v != nil {
			done, _ = strconv.ParseInt(string(v), 10, 64)
		}
		var evs []cwlogs.InputEvent
		for _, ev := range b.evs {
			if ev.seq > done {
				evs = append(evs, ev.InputEvent)
			}
		}
		if len(evs) == 0 {
			continue
		}
		account := b.trail.account
		stream := account + "_CloudTrail_" + b.trail.HomeRegion
		_, err := cwlogs.Append(ctx, tx, account, b.region, b.group, stream, s.opts.Clock(), evs)
		if errors.Is(err, cwlogs.ErrNoGroup) {
			// CloudTrail keeps logging to S3 when its log group is gone; the events are lost
			// to the group, as in AWS.
			continue
		}
		if err != nil {
			return false, fmt.Errorf("trail: deliver to %s: %w", b.group, err)
		}
		if err := tx.Put(ctx, deliveredKV, arn, []byte(strconv.FormatInt(b.last, 10))); err != nil {
			return false, err
		}
	}
	return false, nil
}

// checkLogGroup requires a trail's log group, if it has one, to exist in the caller's account.
func checkLogGroup(ctx context.Context, c *call.Call, arn string) error {
	if arn == "" {
		return nil
	}
	region, group, _ := parseLogGroupARN(arn)
	r, err := c.Tx.GetResource(ctx, c.Account, region, cwlogs.ResourceType, group)
	if err != nil {
		return err
	}
	if r == nil || !strings.Contains(arn, ":"+c.Account+":") {
		return errf("InvalidCloudWatchLogsLogGroupArnException", "CloudTrail cannot validate the specified log group ARN %s: the log group does not exist in account %s.", arn, c.Account)
	}
	return nil
}

// parseLogGroupARN reads the region and group name of arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*].
func parseLogGroupARN(arn string) (region, group string, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[5] != "log-group" {
		return "", "", false
	}
	return parts[3], strings.TrimSuffix(parts[6], ":*"), true
}

// loggingAt tells whether the trail was logging when a call was made: since its last
// StartLogging, and until its StopLogging if it has stopped since (the StopLogging call itself
// is logged). Only the latest logging period is known.
func (t *Trail) loggingAt(at time.Time) bool {
	if t.StartLoggingTime == nil || at.Before(*t.StartLoggingTime) {
		return false
	}
	return t.IsLogging || t.StopLoggingTime != nil && !at.After(*t.StopLoggingTime)
}

// logs tells whether the trail, owned by account, logs the event: its region (or every
// region for a multi-region trail), global service events, and its event selectors.
func (t *Trail) logs(h *recordHead, account string) bool {
	if h.RecipientAccountID != account {
		return false
	}
	switch h.EventCategory {
	case "", store.CategoryManagement, store.CategoryData, store.CategoryNetworkActivity:
	default:
		return false // Insights go to their own files; ActivityAuditLog is Lake's
	}
	if !t.IsMultiRegionTrail && h.AWSRegion != t.HomeRegion {
		return false
	}
	if globalSources[h.EventSource] && !t.IncludeGlobalServiceEvents {
		return false
	}
	if len(t.AdvancedEventSelectors) > 0 {
		for _, a := range t.AdvancedEventSelectors {
			if advancedMatches(a, h) {
				return true
			}
		}
		return false
	}
	sels := t.EventSelectors
	if sels == nil {
		sels = defaultSelectors()
	}
	for _, sel := range sels {
		if selects(sel, h) {
			return true
		}
	}
	return false
}

// globalSources are the services whose events are global service events.
var globalSources = map[string]bool{"iam.amazonaws.com": true, "sts.amazonaws.com": true,
	"cloudfront.amazonaws.com": true, "signin.amazonaws.com": true, "organizations.amazonaws.com": true}

func readOnly(h *recordHead) bool { return h.ReadOnly != nil && *h.ReadOnly }

// selects applies one basic event selector.
func selects(sel cloudtrail.EventSelector, h *recordHead) bool {
	switch aws.ToString(sel.ReadWriteType) {
	case "ReadOnly":
		if !readOnly(h) {
			return false
		}
	case "WriteOnly":
		if readOnly(h) {
			return false
		}
	}
	if h.EventCategory == store.CategoryData {
		for _, d := range sel.DataResources {
			for _, r := range h.Resources {
				if r.Type != aws.ToString(d.Type) {
					continue
				}
				for _, v := range d.Values {
					if strings.HasPrefix(r.ARN, v) {
						return true
					}
				}
			}
		}
		return false
	}
	if sel.IncludeManagementEvents != nil && !*sel.IncludeManagementEvents {
		return false
	}
	for _, src := range sel.ExcludeManagementEventSources {
		if src == h.EventSource {
			return false
		}
	}
	return true
}

// field returns the values of an advanced selector field in a record.
func (h *recordHead) field(name string) []string {
	switch name {
	case "eventCategory":
		c := h.EventCategory
		if c == "" {
			c = store.CategoryManagement
		}
		return []string{c}
	case "eventSource":
		return []string{h.EventSource}
	case "eventName":
		return []string{h.EventName}
	case "eventType":
		return []string{h.EventType}
	case "readOnly":
		return []string{strconv.FormatBool(readOnly(h))}
	case "errorCode":
		return []string{h.ErrorCode}
	case "userIdentity.arn":
		return []string{h.UserIdentity.ARN}
	case "resources.type", "resources.ARN":
		var vs []string
		for _, r := range h.Resources {
			if name == "resources.type" {
				vs = append(vs, r.Type)
			} else {
				vs = append(vs, r.ARN)
			}
		}
		return vs
	}
	return []string{""}
}

// matches applies an advanced event selector: every field selector must hold.
func advancedMatches(a cloudtrail.AdvancedEventSelector, h *recordHead) bool {
	for _, f := range a.FieldSelectors {
		vals := h.field(aws.ToString(f.Field))
		if !fieldMatches(f, vals) {
			return false
		}
	}
	return true
}

// fieldMatches: the positive conditions are alternatives (any may hold, if there are any);
// every negative condition must hold.
func fieldMatches(f cloudtrail.AdvancedFieldSelector, vals []string) bool {
	anyOf := func(pred func(v string) bool) bool {
		for _, v := range vals {
			if pred(v) {
				return true
			}
		}
		return false
	}
	positive := len(f.Equals) + len(f.StartsWith) + len(f.EndsWith)
	if positive > 0 {
		ok := false
		for _, w := range f.Equals {
			ok = ok || anyOf(func(v string) bool { return v == w })
		}
		for _, w := range f.StartsWith {
			ok = ok || anyOf(func(v string) bool { return strings.HasPrefix(v, w) })
		}
		for _, w := range f.EndsWith {
			ok = ok || anyOf(func(v string) bool { return strings.HasSuffix(v, w) })
		}
		if !ok {
			return false
		}
	}
	for _, w := range f.NotEquals {
		if anyOf(func(v string) bool { return v == w }) {
			return false
		}
	}
	for _, w := range f.NotStartsWith {
		if anyOf(func(v string) bool { return strings.HasPrefix(v, w) }) {
			return false
		}
	}
	for _, w := range f.NotEndsWith {
		if anyOf(func(v string) bool { return strings.HasSuffix(v, w) }) {
			return false
		}
	}
	return true
}

// LogsEvent reports whether a trail of the record's account that was logging at the
// call's time logs the CloudTrail record (its regions and event selectors). EventBridge
// receives data events only when a trail logs them, as the CloudTrail User Guide says.
// at is the call's exact time (the stream entry's), or zero to take the record's
// eventTime, which has whole seconds.
func (s *Service) LogsEvent(ctx context.Context, record []byte, at time.Time) (bool, error) {
	return LogsEvent(ctx, s.opts.Store, record, at)
}

// LogsEvent is Service.LogsEvent over the trails kept in st.
func LogsEvent(ctx context.Context, st store.Store, record []byte, exact time.Time) (bool, error) {
	if st == nil {
		return false, nil
	}
	var h recordHead
	if err := json.Unmarshal(record, &h); err != nil || h.RecipientAccountID == "" {
		return false, nil
	}
	at, err := time.Parse(time.RFC3339, h.EventTime)
	if err != nil {
		return false, nil
	}
	logged := false
	err = st.View(ctx, func(tx store.ReadTx) error {
		rs, err := store.AllResources(ctx, tx, store.ResourceQuery{Account: h.RecipientAccountID, Type: ResourceType})
		if err != nil {
			return err
		}
		for _, r := range rs {
			t, err := decode(r)
			if err != nil {
				return err
			}
			if t.StartLoggingTime == nil {
				continue
			}
			switch {
			case !exact.IsZero() && exact.Before(*t.StartLoggingTime):
				continue
			case exact.IsZero() && at.Before(t.StartLoggingTime.Truncate(time.Second)):
				// eventTime has whole seconds: a call in the second logging started counts.
				continue
			}
			if !exact.IsZero() {
				at = exact
			}
			if !t.IsLogging && (t.StopLoggingTime == nil || at.After(*t.StopLoggingTime)) {
				continue
			}
			if t.logs(&h, r.Account) {
				logged = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("trail: trails logging %s: %w", h.EventName, err)
	}
	return logged, nil
}
