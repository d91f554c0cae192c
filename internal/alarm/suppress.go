package alarm

import (
	"context"
	"fmt"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// This file is composite alarm actions suppression (ActionsSuppressor). While the
// suppressor alarm is in ALARM the composite's actions do not run; when the composite goes
// into ALARM it waits up to ActionsSuppressorWaitPeriod seconds for the suppressor to go
// into ALARM before acting; after the suppressor leaves ALARM the composite's actions stay
// suppressed for ActionsSuppressorExtensionPeriod seconds. Actions held back run when the
// suppression ends, if the composite is still in the state they belong to (a new
// transition replaces them). The deadlines are kept in the composite's State, so that a
// restart does not lose them; Run's tick (through evaluate) ends them.

// Reasons actions are suppressed (ActionsSuppressedBy).
const (
	SuppressedByWait      = "WaitPeriod"
	SuppressedByExtension = "ExtensionPeriod"
	SuppressedByAlarm     = "Alarm"
)

// suppressor reads whether composite a's suppressor alarm is in ALARM.
func suppressor(ctx context.Context, tx store.ReadTx, a *Alarm) (bool, error) {
	name, ok := resolveRef(a, a.ActionsSuppressor)
	if !ok {
		return false, nil
	}
	b, err := tx.Get(ctx, bucketState, stateKey(a.Account, a.Region, name))
	if err != nil {
		return false, fmt.Errorf("alarm: get suppressor state %s: %w", name, err)
	}
	st, err := decodeState(name, b)
	if err != nil {
		return false, err
	}
	return st.Value == StateAlarm, nil
}

// suppressReason is ActionsSuppressedReason, as CloudWatch words it ("Actions suppressed by
// WaitPeriod").
func suppressReason(by string) string { return "Actions suppressed by " + by }

// observeSuppressor records in st whether the suppressor is in ALARM; when it has just
// left ALARM, the extension period starts.
func observeSuppressor(a *Alarm, st *State, inAlarm bool, now time.Time) {
	if inAlarm == st.SuppressorInAlarm {
		return
	}
	st.SuppressorInAlarm = inAlarm
	st.ExtensionUntil = time.Time{}
	if !inAlarm && a.ActionsSuppressorExtensionPeriod > 0 {
		st.ExtensionUntil = now.UTC().Add(time.Duration(a.ActionsSuppressorExtensionPeriod) * time.Second)
	}
}

func setSuppressed(st *State, by string, until time.Time) {
	st.SuppressedBy, st.SuppressedReason, st.SuppressedUntil = by, suppressReason(by), until
}

func clearSuppressed(st *State) {
	st.SuppressedBy, st.SuppressedReason, st.SuppressedUntil, st.PendingFrom = "", "", time.Time{}, ""
}

// suppressOnTransition decides whether the actions of composite a's transition from old
// to st wait, and records it in st.
func (s *Service) suppressOnTransition(ctx context.Context, tx store.ReadTx, a *Alarm, old string, st *State, now time.Time) (bool, error) {
	if a.Type != TypeComposite || a.ActionsSuppressor == "" {
		return false, nil
	}
	inAlarm, err := suppressor(ctx, tx, a)
	if err != nil {
		return false, err
	}
	observeSuppressor(a, st, inAlarm, now)
	switch {
	case inAlarm:
		setSuppressed(st, SuppressedByAlarm, time.Time{})
	case st.Value == StateAlarm && a.ActionsSuppressorWaitPeriod > 0:
		setSuppressed(st, SuppressedByWait, now.UTC().Add(time.Duration(a.ActionsSuppressorWaitPeriod)*time.Second))
	case now.Before(st.ExtensionUntil):
		setSuppressed(st, SuppressedByExtension, st.ExtensionUntil)
	default:
		return false, nil
	}
	st.PendingFrom = old
	return true, nil
}

// upkeepSuppression follows composite a's suppressor and, when a suppression of its
// actions ends, performs them. It writes only when something changed.
func (s *Service) upkeepSuppression(ctx context.Context, tx store.Tx, account, region, name string, now time.Time) error {
	a, _, err := getAlarm(ctx, tx, account, region, name)
	if err != nil || a == nil || a.Type != TypeComposite {
		return err
	}
	cur, err := getState(ctx, tx, account, region, name)
	if err != nil {
		return err
	}
	if a.ActionsSuppressor == "" && cur.PendingFrom == "" && !cur.SuppressorInAlarm && cur.ExtensionUntil.IsZero() {
		return nil
	}
	st := *cur
	release := false
	if a.ActionsSuppressor == "" {
		st.SuppressorInAlarm, st.ExtensionUntil = false, time.Time{}
		release = st.PendingFrom != ""
	} else {
		inAlarm, err := suppressor(ctx, tx, a)
		if err != nil {
			return err
		}
		observeSuppressor(a, &st, inAlarm, now)
		if st.PendingFrom != "" {
			switch {
			case inAlarm:
				setSuppressed(&st, SuppressedByAlarm, time.Time{})
			case st.SuppressedBy == SuppressedByWait && now.Before(st.SuppressedUntil):
			case now.Before(st.ExtensionUntil):
				setSuppressed(&st, SuppressedByExtension, st.ExtensionUntil)
			default:
				release = true
			}
		}
	}
	if !release && sameSuppression(cur, &st) {
		return nil
	}
	if release {
		// As CloudWatch does when a suppression ends, the state is updated (same value, new
		// timestamp; the suppressed state is the previous one) and the actions run.
		from := st.Value
		clearSuppressed(&st)
		st.Updated = now.UTC()
		if err := putState(ctx, tx, a, &st); err != nil {
			return err
		}
		if err := s.history(ctx, tx, a, "Action", "Actions no longer suppressed",
			map[string]any{"actionState": "Unsuppressed", "stateValue": st.Value}, now); err != nil {
			return err
		}
		return s.act(ctx, tx, a, from, &st, now)
	}
	if err := putState(ctx, tx, a, &st); err != nil {
		return err
	}
	if st.SuppressedBy != cur.SuppressedBy && st.SuppressedBy != "" {
		return s.suppressedHistory(ctx, tx, a, &st, now)
	}
	return nil
}

func (s *Service) suppressedHistory(ctx context.Context, tx store.Tx, a *Alarm, st *State, now time.Time) error {
	data := map[string]any{"actionState": "Suppressed", "stateValue": st.Value, "actionsSuppressedBy": st.SuppressedBy,
		"actionsSuppressedReason": st.SuppressedReason}
	if !st.SuppressedUntil.IsZero() {
		data["actionsSuppressedUntil"] = awsTime(st.SuppressedUntil)
	}
	return s.history(ctx, tx, a, "Action", "Actions suppressed by "+st.SuppressedBy, data, now)
}

func sameSuppression(a, b *State) bool {
	return a.SuppressedBy == b.SuppressedBy && a.SuppressedReason == b.SuppressedReason && a.SuppressedUntil.Equal(b.SuppressedUntil) &&
		a.PendingFrom == b.PendingFrom && a.SuppressorInAlarm == b.SuppressorInAlarm && a.ExtensionUntil.Equal(b.ExtensionUntil)
}
