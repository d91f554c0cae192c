package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bannin/bannin/internal/wire/config"
)

// recordersBucket holds each account and region's configuration recorder (recorderState).
const recordersBucket = "config.recorders"

// recorderState is a configuration recorder and its status.
type recorderState struct {
	Recorder         config.ConfigurationRecorder `json:"recorder"`
	Recording        bool                         `json:"recording"`
	LastStart        *time.Time                   `json:"lastStart,omitempty"`
	LastStop         *time.Time                   `json:"lastStop,omitempty"`
	LastStatus       string                       `json:"lastStatus,omitempty"`
	LastStatusChange *time.Time                   `json:"lastStatusChange,omitempty"`
	// LastDaily is when DAILY types were last recorded (Run).
	LastDaily *time.Time `json:"lastDaily,omitempty"`
}

type kvReader interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// loadRecorder returns the account and region's recorder, or nil.
func loadRecorder(ctx context.Context, tx kvReader, account, region string) (*recorderState, error) {
	b, err := tx.Get(ctx, recordersBucket, account+sep+region)
	if err != nil {
		return nil, fmt.Errorf("recorder: load recorder: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var st recorderState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("recorder: decode recorder: %w", err)
	}
	return &st, nil
}

// records reports whether the recorder records resources of type typ.
func (st *recorderState) records(typ string) bool {
	g := st.Recorder.RecordingGroup
	if g == nil {
		return !isGlobal(typ)
	}
	if ex := g.ExclusionByResourceTypes; ex != nil && len(ex.ResourceTypes) > 0 {
		return !slices.Contains(ex.ResourceTypes, typ)
	}
	if len(g.ResourceTypes) > 0 {
		return slices.Contains(g.ResourceTypes, typ)
	}
	if g.AllSupported != nil && !*g.AllSupported {
		return false
	}
	if isGlobal(typ) {
		return g.IncludeGlobalResourceTypes != nil && *g.IncludeGlobalResourceTypes
	}
	return true
}

// frequency returns the recording frequency of type typ (CONTINUOUS or DAILY).
func (st *recorderState) frequency(typ string) string {
	m := st.Recorder.RecordingMode
	if m == nil {
		return "CONTINUOUS"
	}
	for _, o := range m.RecordingModeOverrides {
		if slices.Contains(o.ResourceTypes, typ) && o.RecordingFrequency != nil {
			return *o.RecordingFrequency
		}
	}
	if m.RecordingFrequency != nil && *m.RecordingFrequency != "" {
		return *m.RecordingFrequency
	}
	return "CONTINUOUS"
}
