package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// Recording strategies (RecordingStrategy.useOnly).
const (
	strategyAll       = "ALL_SUPPORTED_RESOURCE_TYPES"
	strategyInclusion = "INCLUSION_BY_RESOURCE_TYPES"
	strategyExclusion = "EXCLUSION_BY_RESOURCE_TYPES"
)

var resourceTypePattern = regexp.MustCompile(`^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$`)

func writeTx(c *call.Call) (store.Tx, error) {
	tx := c.Write()
	if tx == nil {
		return nil, fmt.Errorf("recorder: %s needs a write transaction", c.Operation)
	}
	return tx, nil
}

func recorderARN(c *call.Call, name string) string {
	return fmt.Sprintf("arn:aws:config:%s:%s:configuration-recorder/%s", c.Region, c.Account, name)
}

func saveRecorder(ctx context.Context, tx store.Tx, account, region string, st *recorderState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("recorder: encode recorder: %w", err)
	}
	if err := tx.Put(ctx, recordersBucket, account+sep+region, b); err != nil {
		return fmt.Errorf("recorder: save recorder: %w", err)
	}
	return nil
}

// checkGroup validates a recording group as PutConfigurationRecorder does, answering
// InvalidRecordingGroupException.
func checkGroup(g *config.RecordingGroup) error {
	bad := func(msg string) error { return &config.InvalidRecordingGroupException{Message: aws.String(msg)} }
	all := g.AllSupported != nil && *g.AllSupported
	global := g.IncludeGlobalResourceTypes != nil && *g.IncludeGlobalResourceTypes
	var excluded []string
	if g.ExclusionByResourceTypes != nil {
		excluded = g.ExclusionByResourceTypes.ResourceTypes
	}
	for _, t := range slices.Concat(g.ResourceTypes, excluded) {
		if !resourceTypePattern.MatchString(t) {
			return &config.ValidationException{Message: aws.String(fmt.Sprintf("The resource type %s is not valid.", t))}
		}
	}
	strategy := ""
	if g.RecordingStrategy != nil && g.RecordingStrategy.UseOnly != nil {
		strategy = *g.RecordingStrategy.UseOnly
	}
	switch {
	case all && (len(g.ResourceTypes) > 0 || len(excluded) > 0):
		return bad("The recording group provided is not valid: allSupported is true, so resourceTypes and exclusionByResourceTypes must be empty.")
	case global && !all:
		return bad("The recording group provided is not valid: includeGlobalResourceTypes can be true only when allSupported is true.")
	case !all && len(g.ResourceTypes) > 0 && len(excluded) > 0:
		return bad("The recording group provided is not valid: resourceTypes and exclusionByResourceTypes cannot both be set.")
	case !all && len(g.ResourceTypes) == 0 && len(excluded) == 0 && g.AllSupported != nil:
		return bad("The recording group provided is not valid: allSupported is false and no resource types are listed.")
	}
	if strategy != "" {
		want := strategyAll
		if len(g.ResourceTypes) > 0 {
			want = strategyInclusion
		} else if len(excluded) > 0 {
			want = strategyExclusion
		}
		if strategy != want {
			return bad(fmt.Sprintf("The recording group provided is not valid: recordingStrategy %s does not match the recording group (%s).", strategy, want))
		}
	}
	return nil
}

// PutConfigurationRecorder creates the account and region's configuration recorder or
// changes it; there is at most one, and its name cannot change.
func (s *Service) PutConfigurationRecorder(ctx context.Context, in *config.PutConfigurationRecorderRequest) (*config.PutConfigurationRecorderOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	r := in.ConfigurationRecorder
	if r == nil {
		return nil, &config.ValidationException{Message: aws.String("ConfigurationRecorder is required.")}
	}
	name := aws.ToString(r.Name)
	if name == "" {
		name = "default"
	}
	if len(name) > 256 {
		return nil, &config.InvalidConfigurationRecorderNameException{Message: aws.String("The configuration recorder name is not valid: it must be 1 to 256 characters.")}
	}
	if r.RoleARN == nil || *r.RoleARN == "" {
		return nil, &config.InvalidRoleException{Message: aws.String("The role ARN must be specified.")}
	}
	if g := r.RecordingGroup; g != nil {
		if err := checkGroup(g); err != nil {
			return nil, err
		}
	}
	if m := r.RecordingMode; m != nil {
		if m.RecordingFrequency == nil || (*m.RecordingFrequency != "CONTINUOUS" && *m.RecordingFrequency != "DAILY") {
			return nil, &config.ValidationException{Message: aws.String("recordingMode.recordingFrequency must be CONTINUOUS or DAILY.")}
		}
		for _, o := range m.RecordingModeOverrides {
			if o.RecordingFrequency == nil || (*o.RecordingFrequency != "CONTINUOUS" && *o.RecordingFrequency != "DAILY") || len(o.ResourceTypes) == 0 {
				return nil, &config.ValidationException{Message: aws.String("Each recording mode override needs resourceTypes and a recordingFrequency of CONTINUOUS or DAILY.")}
			}
		}
	}
	st, err := loadRecorder(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if st != nil && aws.ToString(st.Recorder.Name) != name {
		return nil, &config.MaxNumberOfConfigurationRecordersExceededException{Message: aws.String(fmt.Sprintf(
			"Failed to put configuration recorder '%s' because the maximum number of configuration recorders: 1 is reached.", name))}
	}
	if st == nil {
		st = &recorderState{LastStatus: "Pending"}
	}
	changedScope := st.Recording && !sameGroup(st.Recorder.RecordingGroup, r.RecordingGroup)
	st.Recorder = config.ConfigurationRecorder{Name: aws.String(name), RoleARN: r.RoleARN, RecordingGroup: r.RecordingGroup,
		RecordingMode: r.RecordingMode, Arn: aws.String(recorderARN(c, name)), RecordingScope: aws.String("PAID")}
	if st.Recorder.RecordingGroup == nil {
		st.Recorder.RecordingGroup = &config.RecordingGroup{AllSupported: aws.Bool(true), IncludeGlobalResourceTypes: aws.Bool(false)}
	}
	if st.Recorder.RecordingMode == nil {
		st.Recorder.RecordingMode = &config.RecordingMode{RecordingFrequency: aws.String("CONTINUOUS")}
	}
	if err := saveRecorder(ctx, tx, c.Account, c.Region, st); err != nil {
		return nil, err
	}
	c.Touch("AWS::Config::ConfigurationRecorder", name, recorderARN(c, name))
	if changedScope {
		if err := appendDiscover(ctx, tx, c.Account, c.Region); err != nil {
			return nil, err
		}
	}
	return &config.PutConfigurationRecorderOutput{}, nil
}

func sameGroup(a, b *config.RecordingGroup) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func appendDiscover(ctx context.Context, tx store.Tx, account, region string) error {
	b, _ := json.Marshal(scope{Account: account, Region: region})
	if _, err := tx.Append(ctx, kindDiscover, b); err != nil {
		return fmt.Errorf("recorder: append discovery: %w", err)
	}
	return nil
}

// namedRecorder returns the recorder named name (any name when "" and any is true), or
// NoSuchConfigurationRecorderException.
func namedRecorder(ctx context.Context, c *call.Call, name string) (*recorderState, error) {
	st, err := loadRecorder(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if st == nil || aws.ToString(st.Recorder.Name) != name {
		return nil, &config.NoSuchConfigurationRecorderException{Message: aws.String(fmt.Sprintf(
			"Cannot find configuration recorder with the specified name '%s'.", name))}
	}
	return st, nil
}

// DescribeConfigurationRecorders lists the recorder (the named ones must exist).
func (s *Service) DescribeConfigurationRecorders(ctx context.Context, in *config.DescribeConfigurationRecordersRequest) (*config.DescribeConfigurationRecordersResponse, error) {
	sts, err := s.selectRecorders(ctx, in.ConfigurationRecorderNames, in.Arn)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConfigurationRecordersResponse{ConfigurationRecorders: []config.ConfigurationRecorder{}}
	for _, st := range sts {
		out.ConfigurationRecorders = append(out.ConfigurationRecorders, st.Recorder)
	}
	return out, nil
}

func (s *Service) selectRecorders(ctx context.Context, names []string, arn *string) ([]*recorderState, error) {
	c := call.From(ctx)
	if arn != nil && *arn != "" {
		st, err := loadRecorder(ctx, c.Tx, c.Account, c.Region)
		if err != nil {
			return nil, err
		}
		if st == nil || aws.ToString(st.Recorder.Arn) != *arn {
			return nil, &config.NoSuchConfigurationRecorderException{Message: aws.String(fmt.Sprintf(
				"Cannot find configuration recorder with the specified ARN '%s'.", *arn))}
		}
		return []*recorderState{st}, nil
	}
	if len(names) == 0 {
		st, err := loadRecorder(ctx, c.Tx, c.Account, c.Region)
		if err != nil || st == nil {
			return nil, err
		}
		return []*recorderState{st}, nil
	}
	var out []*recorderState
	for _, n := range names {
		st, err := namedRecorder(ctx, c, n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// DescribeConfigurationRecorderStatus reports whether the recorder is recording and how
// its last recording went.
func (s *Service) DescribeConfigurationRecorderStatus(ctx context.Context, in *config.DescribeConfigurationRecorderStatusRequest) (*config.DescribeConfigurationRecorderStatusResponse, error) {
	sts, err := s.selectRecorders(ctx, in.ConfigurationRecorderNames, in.Arn)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeConfigurationRecorderStatusResponse{ConfigurationRecordersStatus: []config.ConfigurationRecorderStatus{}}
	for _, st := range sts {
		status := st.LastStatus
		if status == "" {
			status = "Pending"
		}
		out.ConfigurationRecordersStatus = append(out.ConfigurationRecordersStatus, config.ConfigurationRecorderStatus{
			Arn: st.Recorder.Arn, Name: st.Recorder.Name, Recording: aws.Bool(st.Recording),
			LastStartTime: st.LastStart, LastStopTime: st.LastStop, LastStatus: aws.String(status),
			LastStatusChangeTime: st.LastStatusChange})
	}
	return out, nil
}

// DeleteConfigurationRecorder deletes the recorder; the items it recorded stay.
func (s *Service) DeleteConfigurationRecorder(ctx context.Context, in *config.DeleteConfigurationRecorderRequest) (*config.DeleteConfigurationRecorderOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.ConfigurationRecorderName)
	if _, err := namedRecorder(ctx, c, name); err != nil {
		return nil, err
	}
	if err := tx.Delete(ctx, recordersBucket, c.Account+sep+c.Region); err != nil {
		return nil, fmt.Errorf("recorder: delete recorder: %w", err)
	}
	c.Touch("AWS::Config::ConfigurationRecorder", name, recorderARN(c, name))
	return &config.DeleteConfigurationRecorderOutput{}, nil
}

// StartConfigurationRecorder starts recording; it needs a delivery channel. Starting
// triggers a discovery of the resources that exist.
func (s *Service) StartConfigurationRecorder(ctx context.Context, in *config.StartConfigurationRecorderRequest) (*config.StartConfigurationRecorderOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.ConfigurationRecorderName)
	st, err := namedRecorder(ctx, c, name)
	if err != nil {
		return nil, err
	}
	ch, err := loadChannel(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if ch == nil {
		return nil, &config.NoAvailableDeliveryChannelException{Message: aws.String(
			"Delivery channel is not available to start configuration recorder.")}
	}
	c.Touch("AWS::Config::ConfigurationRecorder", name, recorderARN(c, name))
	if st.Recording {
		return &config.StartConfigurationRecorderOutput{}, nil
	}
	now := c.Time.UTC()
	st.Recording, st.LastStart, st.LastStatus, st.LastStatusChange = true, &now, "Success", &now
	if err := saveRecorder(ctx, tx, c.Account, c.Region, st); err != nil {
		return nil, err
	}
	if err := appendDiscover(ctx, tx, c.Account, c.Region); err != nil {
		return nil, err
	}
	return &config.StartConfigurationRecorderOutput{}, nil
}

// StopConfigurationRecorder stops recording.
func (s *Service) StopConfigurationRecorder(ctx context.Context, in *config.StopConfigurationRecorderRequest) (*config.StopConfigurationRecorderOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.ConfigurationRecorderName)
	st, err := namedRecorder(ctx, c, name)
	if err != nil {
		return nil, err
	}
	c.Touch("AWS::Config::ConfigurationRecorder", name, recorderARN(c, name))
	if !st.Recording {
		return &config.StopConfigurationRecorderOutput{}, nil
	}
	now := c.Time.UTC()
	st.Recording, st.LastStop, st.LastStatusChange = false, &now, &now
	if err := saveRecorder(ctx, tx, c.Account, c.Region, st); err != nil {
		return nil, err
	}
	return &config.StopConfigurationRecorderOutput{}, nil
}

// ListConfigurationRecorders lists the account and region's recorder. Filters on
// recordingScope (PAID, the customer managed recorder's scope) and servicePrincipal
// (service-linked recorders, which bannin does not have) are applied.
func (s *Service) ListConfigurationRecorders(ctx context.Context, in *config.ListConfigurationRecordersRequest) (*config.ListConfigurationRecordersResponse, error) {
	c := call.From(ctx)
	out := &config.ListConfigurationRecordersResponse{ConfigurationRecorderSummaries: []config.ConfigurationRecorderSummary{}}
	st, err := loadRecorder(ctx, c.Tx, c.Account, c.Region)
	if err != nil || st == nil {
		return out, err
	}
	for _, f := range in.Filters {
		switch aws.ToString(f.FilterName) {
		case "recordingScope":
			if !slices.Contains(f.FilterValue, aws.ToString(st.Recorder.RecordingScope)) {
				return out, nil
			}
		case "servicePrincipal":
			if len(f.FilterValue) > 0 {
				return out, nil
			}
		}
	}
	out.ConfigurationRecorderSummaries = append(out.ConfigurationRecorderSummaries, config.ConfigurationRecorderSummary{
		Arn: st.Recorder.Arn, Name: st.Recorder.Name, RecordingScope: st.Recorder.RecordingScope})
	return out, nil
}
