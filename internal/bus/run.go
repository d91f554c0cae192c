package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// scheduleBucket keeps, per scheduled rule ARN, its expression and next firing time, so
// that a restart neither skips nor repeats a firing.
const scheduleBucket = "bus.schedule"

type scheduleState struct {
	Expr string    `json:"expr"`
	Next time.Time `json:"next"`
}

// Run fires scheduled rules, retries failed deliveries and, from a goroutine of its
// own, makes the queued API destination calls, until ctx is done. It looks at the
// injected clock every Options.Tick of real time, so a test that moves its clock sees
// the work that became due within a tick.
func (s *Service) Run(ctx context.Context) error {
	if s.opts.Store == nil {
		<-ctx.Done()
		return nil
	}
	sender := make(chan struct{})
	go func() {
		defer close(sender)
		s.sendPending(ctx)
	}()
	defer func() { <-sender }()
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := s.opts.Clock()
		if err := s.fireSchedules(ctx, now); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("bus: schedules", "err", err)
		}
		if err := s.retryDue(ctx, now); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("bus: retries", "err", err)
		}
		if err := s.expireMarks(ctx, now); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("bus: expire delivered marks", "err", err)
		}
	}
}

// scheduledRule is an enabled rule with a schedule, in its account and region.
type scheduledRule struct {
	account, region string
	rule            storedRule
}

// fireSchedules puts the "Scheduled Event" of every scheduled rule that is due on the
// default bus, addressed to that rule alone. Firings missed while bannin was stopped
// (or the clock jumped) are not made up: the rule fires once and moves to its next time.
func (s *Service) fireSchedules(ctx context.Context, now time.Time) error {
	var rules []scheduledRule
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for {
			rs, next, err := tx.ListResources(ctx, store.ResourceQuery{Type: RuleType, After: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, r := range rs {
				sr, err := decodeRule(r)
				if err != nil {
					return err
				}
				if sr.ScheduleExpression != "" && sr.State != Disabled {
					rules = append(rules, scheduledRule{account: r.Account, region: r.Region, rule: *sr})
				}
			}
			if next == "" {
				return nil
			}
			after = next
		}
	})
	if err != nil {
		return fmt.Errorf("bus: list scheduled rules: %w", err)
	}
	for _, sr := range rules {
		if err := s.fire(ctx, sr, now); err != nil {
			return err
		}
	}
	return nil
}

// fire puts a scheduled rule's event when it is due. sr is the rule as fireSchedules
// listed it; fire reads it again in its own transaction, so that a rule deleted,
// disabled or given another schedule since then does not fire once more.
func (s *Service) fire(ctx context.Context, sr scheduledRule, now time.Time) error {
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		bus := sr.rule.EventBusName
		if bus == "" {
			bus = DefaultBus
		}
		res, err := tx.GetResource(ctx, sr.account, sr.region, RuleType, ruleID(bus, sr.rule.Name))
		if err != nil {
			return fmt.Errorf("bus: read rule %s: %w", sr.rule.Arn, err)
		}
		var r *storedRule
		if res != nil {
			if r, err = decodeRule(res); err != nil {
				return err
			}
		}
		if r == nil || r.Arn != sr.rule.Arn || r.ScheduleExpression == "" {
			// Gone or no longer scheduled: a rule made again later starts afresh.
			return tx.Delete(ctx, scheduleBucket, sr.rule.Arn)
		}
		if r.State == Disabled {
			return nil
		}
		raw, err := tx.Get(ctx, scheduleBucket, r.Arn)
		if err != nil {
			return err
		}
		var st scheduleState
		if raw != nil {
			_ = json.Unmarshal(raw, &st)
		}
		if raw == nil || st.Expr != r.ScheduleExpression {
			next, ok := nextFire(r.ScheduleExpression, now, true)
			if !ok {
				return nil
			}
			return putSchedule(ctx, tx, r.Arn, scheduleState{Expr: r.ScheduleExpression, Next: next})
		}
		if now.Before(st.Next) {
			return nil
		}
		at := st.Next.UTC()
		ev := &Event{Version: "0", ID: nameID("schedule:" + r.Arn + "@" + at.Format(time.RFC3339)), DetailType: "Scheduled Event",
			Source: "aws.events", Account: sr.account, Time: at.Format(timeLayout), Region: sr.region,
			Resources: []string{r.Arn}}
		evRaw, err := encodeEvent(ev, []byte("{}"))
		if err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, &busEntry{Account: sr.account, Region: sr.region, Bus: DefaultBus, Event: evRaw,
			Ingested: now.UTC(), Rule: r.Arn}); err != nil {
			return err
		}
		next, ok := nextFire(r.ScheduleExpression, st.Next, false)
		for ok && !next.After(now) {
			next, ok = nextFire(r.ScheduleExpression, next, false)
		}
		if !ok {
			return tx.Delete(ctx, scheduleBucket, r.Arn)
		}
		return putSchedule(ctx, tx, r.Arn, scheduleState{Expr: r.ScheduleExpression, Next: next})
	})
}

func putSchedule(ctx context.Context, tx store.Tx, arn string, st scheduleState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return tx.Put(ctx, scheduleBucket, arn, raw)
}

// nextFire returns the first firing of a schedule expression after t (first: the rule
// was just seen, so a rate starts counting from t). It reports false when a cron
// expression never fires again.
func nextFire(expr string, t time.Time, first bool) (time.Time, bool) {
	t = t.UTC()
	if m := rateExpr.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := time.Minute
		switch strings.TrimSuffix(m[2], "s") {
		case "hour":
			unit = time.Hour
		case "day":
			unit = 24 * time.Hour
		}
		return t.Truncate(time.Minute).Add(time.Duration(n) * unit), true
	}
	m := cronExpr.FindStringSubmatch(expr)
	if m == nil {
		return time.Time{}, false
	}
	f := strings.Split(m[1], " ")
	if len(f) != 6 {
		return time.Time{}, false
	}
	start := t.Truncate(time.Minute).Add(time.Minute)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < 366*30; i++ {
		d := day.AddDate(0, 0, i)
		if !cronMatch(f[5], d.Year(), 1970, 9999, nil) || !cronMatch(f[3], int(d.Month()), 1, 12, months) ||
			!domMatch(f[2], d) || !dowMatch(f[4], d) {
			continue
		}
		h0, m0 := 0, 0
		if i == 0 {
			h0, m0 = start.Hour(), start.Minute()
		}
		for h := h0; h < 24; h++ {
			if !cronMatch(f[1], h, 0, 23, nil) {
				continue
			}
			mm := 0
			if h == h0 {
				mm = m0
			}
			for ; mm < 60; mm++ {
				if cronMatch(f[0], mm, 0, 59, nil) {
					return d.Add(time.Duration(h)*time.Hour + time.Duration(mm)*time.Minute), true
				}
			}
		}
	}
	return time.Time{}, false
}

// cronMatch tells whether v is in a cron field of plain values, ranges, * and steps.
func cronMatch(field string, v, lo, hi int, names map[string]int) bool {
	val := func(s string) int {
		if n, ok := names[strings.ToUpper(s)]; ok {
			return n
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return n
	}
	for _, item := range strings.Split(field, ",") {
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			step, _ = strconv.Atoi(stepText)
			if step <= 0 {
				step = 1
			}
		}
		a, b := lo, hi
		switch {
		case base == "*":
		case strings.Contains(base, "-"):
			x, y, _ := strings.Cut(base, "-")
			a, b = val(x), val(y)
		default:
			a = val(base)
			b = a
			if hasStep {
				b = hi
			}
		}
		if v >= a && v <= b && (v-a)%step == 0 {
			return true
		}
	}
	return false
}

func lastDay(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// domMatch handles the day-of-month field: ?, L, LW, nW and plain values.
func domMatch(field string, d time.Time) bool {
	if field == "?" {
		return true
	}
	last := lastDay(d)
	for _, item := range strings.Split(field, ",") {
		switch {
		case item == "L":
			if d.Day() == last {
				return true
			}
		case item == "LW" || strings.HasSuffix(item, "W"):
			target := last
			if item != "LW" {
				n, err := strconv.Atoi(strings.TrimSuffix(item, "W"))
				if err != nil {
					continue
				}
				target = min(n, last)
			}
			if nearestWeekday(d, target) == d.Day() {
				return true
			}
		default:
			if cronMatch(item, d.Day(), 1, 31, nil) {
				return true
			}
		}
	}
	return false
}

// nearestWeekday is the weekday of d's month nearest to day n, not leaving the month.
func nearestWeekday(d time.Time, n int) int {
	t := time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == lastDay(d) {
			return n - 2
		}
		return n + 1
	}
	return n
}

// dowMatch handles the day-of-week field (1-7 = SUN-SAT): ?, L, nL, n#k and plain values.
func dowMatch(field string, d time.Time) bool {
	if field == "?" {
		return true
	}
	wd := int(d.Weekday()) + 1
	for _, item := range strings.Split(field, ",") {
		day := func(s string) int {
			if n, ok := weekdays[strings.ToUpper(s)]; ok {
				return n
			}
			n, _ := strconv.Atoi(s)
			return n
		}
		switch {
		case item == "L":
			if wd == 7 {
				return true
			}
		case strings.Contains(item, "#"):
			x, k, _ := strings.Cut(item, "#")
			n, _ := strconv.Atoi(k)
			if wd == day(x) && (d.Day()-1)/7+1 == n {
				return true
			}
		case strings.HasSuffix(item, "L"):
			if wd == day(strings.TrimSuffix(item, "L")) && d.Day()+7 > lastDay(d) {
				return true
			}
		default:
			if cronMatch(item, wd, 1, 7, weekdays) {
				return true
			}
		}
	}
	return false
}
