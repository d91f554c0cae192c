package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/stream"
)

// Consumers wakes the runner as soon as an execution is started or stopped; the runner
// itself reads what to do from the executions' durable state.
func (s *Service) Consumers() []stream.Consumer {
	return []stream.Consumer{{Name: "runbook.automation", Kinds: []string{KindAutomation}, FromNow: true,
		Handle: func(ctx context.Context, _ []store.Entry) error {
			s.poke()
			return nil
		}}}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs executions until ctx is done: each unfinished execution whose next work is due
// (per the injected clock) is driven by a goroutine of its own, outside any transaction.
// Executions left unfinished by a stop resume at the step that was running.
func (s *Service) Run(ctx context.Context) error {
	if s.opts.Store == nil {
		<-ctx.Done()
		return nil
	}
	running := map[string]bool{}
	done := make(chan string)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	scan := true
	for {
		if scan {
			keys, err := s.due(ctx)
			if err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("runbook: list executions", "err", err)
			}
			for _, k := range keys {
				if running[k] {
					continue
				}
				if len(running) >= maxRunning {
					break // the rest wait for the next scan, as AWS queues executions over its limit
				}
				running[k] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.drive(ctx, k)
					select {
					case done <- k:
					case <-ctx.Done():
					}
				}()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case k := <-done:
			delete(running, k)
			scan = false
		case <-s.wake:
			scan = true
		case <-tick.C:
			scan = true
		}
	}
}

// maxRunning bounds the executions driven at once (AWS runs 100 concurrent automations per
// account and queues the rest).
const maxRunning = 100

// due lists the unfinished executions that have work now.
func (s *Service) due(ctx context.Context) ([]string, error) {
	now := s.opts.Clock()
	var keys []string
	err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
		after := ""
		for {
			kvs, err := tx.List(ctx, activeBucket, "", after, 1000)
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				if len(kv.Value) > 0 {
					if t, err := time.Parse(time.RFC3339Nano, string(kv.Value)); err == nil && now.Before(t) {
						continue
					}
				}
				keys = append(keys, kv.Key)
			}
			if len(kvs) < 1000 {
				return nil
			}
			after = kvs[len(kvs)-1].Key
		}
	})
	return keys, err
}

// update applies fn to the stored execution in a transaction of its own.
func (s *Service) update(ctx context.Context, key string, fn func(e *execution, now time.Time)) error {
	return s.opts.Store.Update(ctx, func(tx store.Tx) error {
		e, err := loadExecution(ctx, tx, key)
		if err != nil || e == nil || e.terminal() {
			return err
		}
		fn(e, s.opts.Clock().UTC())
		return saveExecution(ctx, tx, e)
	})
}

// drive runs an execution's steps until it ends or has to wait.
func (s *Service) drive(ctx context.Context, key string) {
	for ctx.Err() == nil {
		var e *execution
		err := s.opts.Store.View(ctx, func(tx store.ReadTx) error {
			var err error
			e, err = loadExecution(ctx, tx, key)
			return err
		})
		if err != nil {
			s.opts.Logger.Error("runbook: load execution", "execution", key, "err", err)
			return
		}
		if e == nil || e.terminal() {
			return
		}
		now := s.opts.Clock()
		if e.Cancelling {
			err = s.update(ctx, key, func(e *execution, now time.Time) { s.cancel(e, now) })
			if err != nil {
				s.opts.Logger.Error("runbook: cancel execution", "execution", key, "err", err)
				return
			}
			continue
		}
		if e.WakeAt != nil && now.Before(*e.WakeAt) {
			return
		}
		cur := e.currentStep()
		if cur == nil || cur.Status != StatusInProgress || cur.Name != e.Next {
			err = s.update(ctx, key, func(e *execution, now time.Time) {
				if e.Cancelling {
					return
				}
				st := e.step(e.Next)
				if !e.CancelFlow {
					e.Status = StatusInProgress
				}
				e.WakeAt = nil
				e.Steps = append(e.Steps, &stepRun{ID: uuid.NewString(), Name: st.Name, Action: st.Action,
					Status: StatusInProgress, Start: &now})
			})
			if err != nil {
				s.opts.Logger.Error("runbook: begin step", "execution", key, "err", err)
				return
			}
			continue
		}
		res := s.runStep(ctx, e, e.step(cur.Name), cur)
		if ctx.Err() != nil {
			// Stopping: the step runs again after the restart (at least once).
			return
		}
		err = s.update(ctx, key, func(e *execution, now time.Time) { s.apply(e, cur.ID, res, now) })
		if err != nil {
			s.opts.Logger.Error("runbook: save step", "execution", key, "err", err)
			return
		}
	}
}

// outcome is what running a step once gave.
type outcome struct {
	inputs   map[string]string
	outputs  map[string]any
	response string
	next     string     // aws:branch's choice
	wait     *time.Time // not finished: run the step again at this time
	err      string     // failure message
	errType  string
	timedOut bool
}

// apply records a step's outcome and moves the execution on.
func (s *Service) apply(e *execution, stepID string, res outcome, now time.Time) {
	cur := e.currentStep()
	if cur == nil || cur.ID != stepID || cur.Status != StatusInProgress {
		return // stale: someone else recorded this step
	}
	st := e.step(cur.Name)
	if res.inputs != nil {
		cur.Inputs = res.inputs
	}
	if res.wait != nil && res.err == "" {
		if e.Cancelling {
			s.cancel(e, now)
			return
		}
		cur.WakeAt, e.WakeAt = res.wait, res.wait
		return
	}
	e.WakeAt, cur.WakeAt = nil, nil
	if res.err == "" {
		cur.Status, cur.End, cur.Response = StatusSuccess, &now, res.response
		cur.Outputs = map[string][]string{}
		for name, v := range res.outputs {
			e.Vars[st.Name+"."+name] = v
			cur.Outputs[st.Name+"."+name] = toStrings(v)
		}
		if len(cur.Outputs) == 0 {
			cur.Outputs = nil
		}
		if e.Cancelling {
			s.cancel(e, now)
			return
		}
		next := res.next
		cur.NextStep = next
		if next == "" && !st.IsEnd {
			next = s.following(e, st)
		}
		s.goTo(e, next, now)
		return
	}
	cur.Attempts++
	if cur.Attempts < max(st.MaxAttempts, 1) && !res.timedOut && !e.Cancelling {
		cur.FailureMessage = res.err
		return // try again
	}
	cur.End, cur.FailureMessage, cur.FailureType = &now, res.err, res.errType
	cur.Status = StatusFailed
	if res.timedOut {
		cur.Status = StatusTimedOut
	}
	if e.Cancelling {
		s.cancel(e, now)
		return
	}
	onFailure := orElse(st.OnFailure, "Abort")
	critical := onFailure != "Continue"
	if st.IsCritical != nil {
		critical = *st.IsCritical
	}
	failMsg := fmt.Sprintf("Step fails when it is executing. Step %s (%s) failed: %s", st.Name, st.Action, res.err)
	switch {
	case onFailure == "Abort" || st.IsEnd:
		status := StatusFailed
		if res.timedOut {
			status = StatusTimedOut
		}
		if onFailure != "Abort" && !critical && !e.CriticalFailed {
			status, failMsg = StatusSuccess, ""
		}
		s.finish(e, status, failMsg, now)
	case onFailure == "Continue":
		if critical {
			e.CriticalFailed, e.FailureMessage = true, failMsg
		}
		s.goTo(e, s.following(e, st), now)
	default: // step:NAME
		if critical {
			e.CriticalFailed, e.FailureMessage = true, failMsg
		}
		s.goTo(e, strings.TrimPrefix(onFailure, "step:"), now)
	}
}

// following is the step after st when st names none: its nextStep, else the next in the
// document ("" at the end).
func (s *Service) following(e *execution, st *Step) string {
	if st.NextStep != "" {
		return st.NextStep
	}
	for i := range e.Def.Steps {
		if e.Def.Steps[i].Name == st.Name && i+1 < len(e.Def.Steps) {
			return e.Def.Steps[i+1].Name
		}
	}
	return ""
}

// goTo continues with step next, or ends the execution when there is none.
func (s *Service) goTo(e *execution, next string, now time.Time) {
	if next != "" {
		e.Next = next
		return
	}
	switch {
	case e.CriticalFailed:
		s.finish(e, StatusFailed, e.FailureMessage, now)
	default:
		s.finish(e, StatusSuccess, "", now)
	}
}

func (s *Service) finish(e *execution, status, failure string, now time.Time) {
	if e.CancelFlow {
		status = StatusCancelled // the onCancel steps ran; the execution was still cancelled
	}
	e.Status, e.FailureMessage, e.End, e.WakeAt, e.Next = status, failure, &now, nil, ""
	e.Outputs = e.outputs()
}

// cancel ends a cancelled execution: the running step is marked Cancelled. When that
// step's onCancel names a step (step:NAME), that step runs first, as AWS runs the
// cancellation workflow, and the execution stays Cancelling until it ends.
func (s *Service) cancel(e *execution, now time.Time) {
	cur := e.currentStep()
	if cur != nil && (cur.Status == StatusInProgress || cur.Status == StatusPending) {
		cur.Status, cur.End, cur.WakeAt = StatusCancelled, &now, nil
	}
	if cur != nil && !e.CancelFlow {
		if st := e.step(cur.Name); st != nil && strings.HasPrefix(st.OnCancel, "step:") {
			e.CancelFlow, e.Cancelling = true, false
			e.Status, e.WakeAt, e.Next = StatusCancelling, nil, strings.TrimPrefix(st.OnCancel, "step:")
			return
		}
	}
	s.finish(e, StatusCancelled, "", now)
}

// principal is who the steps' calls are made as: the document's assumeRole; without one,
// the caller who started the execution, or for executions bannin started itself (a
// remediation) the SSM service-linked role.
func (s *Service) principal(e *execution) (call.Principal, error) {
	const svc = "ssm.amazonaws.com"
	if e.Def.AssumeRole != "" {
		role, err := interpolate(e.Def.AssumeRole, e.Vars)
		if err != nil {
			return call.Principal{}, err
		}
		if r := scalarString(role); r != "" {
			return iam.AssumedRole(r, e.ID, svc, e.Start)
		}
	}
	if e.Caller.Type == "AWSService" || e.Caller.Type == "" {
		return iam.AssumedRole(iam.ServiceLinkedRoleARN(e.Account, svc, "AWSServiceRoleForAmazonSSM"), e.ID, svc, e.Start)
	}
	p := e.Caller
	p.InvokedBy = svc
	return p, nil
}

// runStep runs one attempt of a step, outside any transaction.
func (s *Service) runStep(ctx context.Context, e *execution, st *Step, cur *stepRun) (res outcome) {
	raw, err := interpolate(st.Inputs, e.Vars)
	if err != nil {
		return outcome{err: err.Error(), errType: "Verification"}
	}
	in, _ := raw.(map[string]any)
	if in == nil {
		in = map[string]any{}
	}
	res.inputs = map[string]string{}
	for k, v := range in {
		b, _ := json.Marshal(v)
		res.inputs[k] = string(b)
	}
	now := s.opts.Clock()
	fail := func(format string, args ...any) outcome {
		res.err, res.errType = fmt.Sprintf(format, args...), "Verification"
		return res
	}
	switch st.Action {
	case ActionSleep:
		wake, err := sleepUntil(in, *cur.Start)
		if err != nil {
			return fail("%v", err)
		}
		if now.Before(wake) {
			res.wait = &wake
		}
		return res
	case ActionBranch:
		next, err := chooseBranch(in)
		if err != nil {
			return fail("%v", err)
		}
		res.next = next
		return res
	case ActionExecuteAPI, ActionAssert, ActionWait:
	default:
		return fail("Action %s is not supported by bannin.", st.Action)
	}
	p, err := s.principal(e)
	if err != nil {
		return fail("The execution's role cannot be assumed: %v", err)
	}
	service, _ := in["Service"].(string)
	api, _ := in["Api"].(string)
	params := map[string]any{}
	for k, v := range in {
		switch k {
		case "Service", "Api":
		case "PropertySelector", "DesiredValues":
			if st.Action == ActionExecuteAPI {
				params[k] = v
			}
		default:
			params[k] = v
		}
	}
	callCtx := ctx
	if st.TimeoutSeconds > 0 && st.Action != ActionWait {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	out, err := s.opts.Invoke(callCtx, p, e.Region, service, api, params)
	if err != nil {
		if ctx.Err() != nil {
			return res
		}
		res.errType = "Action"
		if c, ok := awserr.As(err); ok {
			res.err = fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", c.AWSErrorCode(), api, c.AWSMessage())
			res.errType = failureType(c.AWSErrorCode())
		} else {
			res.err = fmt.Sprintf("Calling %s %s failed: %v", service, api, err)
		}
		return res
	}
	resp := jsonable(out)
	if b, err := json.Marshal(resp); err == nil && len(b) <= 4096 {
		res.response = string(b)
	}
	switch st.Action {
	case ActionExecuteAPI:
		res.outputs = map[string]any{}
		for _, o := range st.Outputs {
			v, found, err := selectPath(resp, o.Selector)
			if err != nil {
				return fail("Output %s: %v", o.Name, err)
			}
			if !found {
				continue
			}
			tv, err := convertOutput(v, o.Type)
			if err != nil {
				return fail("Output %s (selector %s): %v", o.Name, o.Selector, err)
			}
			res.outputs[o.Name] = tv
		}
		return res
	default:
		sel, _ := in["PropertySelector"].(string)
		desired := toStrings(in["DesiredValues"])
		actual, found, err := selectPath(resp, sel)
		if err != nil {
			return fail("%v", err)
		}
		if found && matchesDesired(actual, desired) {
			return res
		}
		got := "nothing"
		if found {
			got = strings.Join(toStrings(actual), ",")
		}
		if st.Action == ActionAssert {
			return fail("Property %s is %s; it should be one of [%s].", sel, got, strings.Join(desired, ", "))
		}
		timeout := time.Duration(orInt(st.TimeoutSeconds, 3600)) * time.Second
		if !now.Before(cur.Start.Add(timeout)) {
			res = fail("Timed out after %s waiting for property %s to be one of [%s]; it is %s.", timeout, sel, strings.Join(desired, ", "), got)
			res.timedOut = true
			return res
		}
		wake := now.Add(s.opts.WaitInterval)
		res.wait = &wake
		return res
	}
}

// failureType is the FailureDetails.FailureType of a step whose API call failed with
// code: one of the types the API reference lists (Action, Permission, Throttling).
func failureType(code string) string {
	switch {
	case strings.Contains(code, "AccessDenied") || strings.Contains(code, "Unauthorized"):
		return "Permission"
	case strings.Contains(code, "Throttl") || code == "TooManyRequestsException" || code == "RequestLimitExceeded":
		return "Throttling"
	}
	return "Action"
}

func orInt(n, d int) int {
	if n > 0 {
		return n
	}
	return d
}

func matchesDesired(actual any, desired []string) bool {
	if _, ok := actual.(map[string]any); ok {
		return false
	}
	a := strings.Join(toStrings(actual), ",")
	for _, d := range desired {
		if d == a {
			return true
		}
		if _, isBool := actual.(bool); isBool && strings.EqualFold(d, a) {
			return true
		}
	}
	return false
}

var durationRE = regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$`)

// parseDuration parses aws:sleep's ISO 8601 durations (PT1H30M, PT10S), up to 7 days.
func parseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "PT" {
		return 0, fmt.Errorf("duration %q is not an ISO 8601 duration such as PT10M or PT30S", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	if d > 7*24*time.Hour {
		return 0, fmt.Errorf("duration %q is longer than the 7 days aws:sleep allows", s)
	}
	return d, nil
}

func sleepUntil(in map[string]any, start time.Time) (time.Time, error) {
	if ts, ok := in["Timestamp"]; ok {
		t, err := time.Parse(time.RFC3339, scalarString(ts))
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q is not an ISO 8601 time such as 2024-01-02T15:04:05Z", scalarString(ts))
		}
		return t, nil
	}
	d, err := parseDuration(scalarString(in["Duration"]))
	if err != nil {
		return time.Time{}, err
	}
	return start.Add(d), nil
}

// chooseBranch evaluates aws:branch's Choices (already interpolated) in order.
func chooseBranch(in map[string]any) (string, error) {
	choices, _ := in["Choices"].([]any)
	for _, c := range choices {
		m, _ := c.(map[string]any)
		ok, err := evalCondition(m)
		if err != nil {
			return "", err
		}
		if ok {
			return scalarString(m["NextStep"]), nil
		}
	}
	if d, ok := in["Default"].(string); ok && d != "" {
		return d, nil
	}
	return "", fmt.Errorf("no choice matched and the step has no Default")
}

func evalCondition(c map[string]any) (bool, error) {
	if list, ok := c["And"].([]any); ok {
		for _, e := range list {
			m, _ := e.(map[string]any)
			if ok, err := evalCondition(m); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	if list, ok := c["Or"].([]any); ok {
		for _, e := range list {
			m, _ := e.(map[string]any)
			if ok, err := evalCondition(m); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	if m, ok := c["Not"].(map[string]any); ok {
		ok, err := evalCondition(m)
		return !ok, err
	}
	v := c["Variable"]
	for _, op := range operators {
		want, ok := c[op]
		if !ok {
			continue
		}
		vs, ws := scalarString(v), scalarString(want)
		switch op {
		case "StringEquals":
			return vs == ws, nil
		case "EqualsIgnoreCase":
			return strings.EqualFold(vs, ws), nil
		case "StartsWith":
			return strings.HasPrefix(vs, ws), nil
		case "EndsWith":
			return strings.HasSuffix(vs, ws), nil
		case "Contains":
			if list, ok := v.([]any); ok {
				for _, e := range list {
					if scalarString(e) == ws {
						return true, nil
					}
				}
				return false, nil
			}
			return strings.Contains(vs, ws), nil
		case "BooleanEquals":
			a, err1 := parseBool(vs)
			b, err2 := parseBool(ws)
			if err1 != nil || err2 != nil {
				return false, fmt.Errorf("BooleanEquals compares booleans; got %s and %s", vs, ws)
			}
			return a == b, nil
		default:
			a, err1 := strconv.ParseFloat(vs, 64)
			b, err2 := strconv.ParseFloat(ws, 64)
			if err1 != nil || err2 != nil {
				return false, fmt.Errorf("%s compares numbers; got %s and %s", op, vs, ws)
			}
			switch op {
			case "NumericEquals":
				return a == b, nil
			case "NumericGreater":
				return a > b, nil
			case "NumericLesser":
				return a < b, nil
			case "NumericGreaterOrEquals":
				return a >= b, nil
			default:
				return a <= b, nil
			}
		}
	}
	return false, fmt.Errorf("a choice has no operator")
}
