// Package bus is EventBridge: event buses, rules and their targets, and the event pattern
// language (package bus/pattern). Buses, rules, targets and their tags are stored as store
// resources (BusType, RuleType); Rules gives event delivery the enabled rules of a bus.
// PutEvents and delivery to targets are not implemented yet.
package bus

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/wire/events"
)

// Service implements events.API.
type Service struct{ events.Unimplemented }

// New returns the EventBridge service.
func New() *Service { return &Service{} }

// mandatoryFields are the envelope fields TestEventPattern requires of its event.
var mandatoryFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func invalid(format string, args ...any) error {
	return awserr.New("InvalidEventPatternException", http.StatusBadRequest, format, args...)
}

// TestEventPattern tells whether an event matches an event pattern.
func (s *Service) TestEventPattern(_ context.Context, in *events.TestEventPatternRequest) (*events.TestEventPatternResponse, error) {
	p, err := compilePattern(aws.ToString(in.EventPattern))
	if err != nil {
		return nil, err
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(aws.ToString(in.Event)), &env); err != nil {
		return nil, invalid("Parameter Event is not valid: it is not a JSON object (%v).", err)
	}
	var missing []string
	for _, f := range mandatoryFields {
		if _, ok := env[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("Parameter Event is not valid: it lacks the mandatory field(s) %s.", strings.Join(missing, ", "))
	}
	ok, err := p.Matches([]byte(aws.ToString(in.Event)))
	if err != nil {
		return nil, invalid("Parameter Event is not valid: %v", err)
	}
	return &events.TestEventPatternResponse{Result: aws.Bool(ok)}, nil
}
