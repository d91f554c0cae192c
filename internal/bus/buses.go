package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/events"
)

// Resource types buses and rules are stored and recorded under.
const (
	BusType  = "AWS::Events::EventBus"
	RuleType = "AWS::Events::Rule"
)

// DefaultBus is the bus every account has in every region without creating it.
const DefaultBus = "default"

// Bus is an event bus's stored configuration.
type Bus struct {
	Name             string                   `json:"Name"`
	Arn              string                   `json:"Arn"`
	Description      string                   `json:"Description,omitempty"`
	KmsKeyIdentifier string                   `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *events.DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	LogConfig        *events.LogConfig        `json:"LogConfig,omitempty"`
	Created          time.Time                `json:"Created"`
	Modified         time.Time                `json:"Modified"`

	tags   map[string]string
	region string
}

func errf(code string, format string, args ...any) error {
	return awserr.New(code, http.StatusBadRequest, format, args...)
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// BusARN is an event bus's ARN.
func BusARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", region, account, name)
}

var busARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus/(.+)$`)

// busName resolves an EventBusName parameter (a name or an ARN, default when empty) to a
// bus name of the call's account and region.
func busName(c *call.Call, nameOrARN string) (string, error) {
	if nameOrARN == "" {
		return DefaultBus, nil
	}
	if m := busARN.FindStringSubmatch(nameOrARN); m != nil {
		if m[1] != c.Region || m[2] != c.Account {
			return "", errf("ResourceNotFoundException", "Event bus %s does not exist.", m[3])
		}
		return m[3], nil
	}
	if strings.HasPrefix(nameOrARN, "arn:") || !busNameChars.MatchString(nameOrARN) {
		return "", badPattern("eventBusName", nameOrARN, `(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+`)
	}
	return nameOrARN, nil
}

func decodeBus(r *store.Resource) (*Bus, error) {
	var b Bus
	if err := json.Unmarshal(r.Config, &b); err != nil {
		return nil, fmt.Errorf("bus: decode event bus %s: %w", r.ID, err)
	}
	b.tags, b.region = r.Tags, r.Region
	return &b, nil
}

// getBus returns a bus of the call's account and region, or nil if there is none. The
// default bus always exists: it is stored only once it has been tagged.
func getBus(ctx context.Context, c *call.Call, name string) (*Bus, error) {
	r, err := c.Tx.GetResource(ctx, c.Account, c.Region, BusType, name)
	if err != nil {
		return nil, fmt.Errorf("bus: get event bus %s: %w", name, err)
	}
	if r != nil {
		return decodeBus(r)
	}
	if name == DefaultBus {
		return &Bus{Name: DefaultBus, Arn: BusARN(c.Region, c.Account, DefaultBus), region: c.Region}, nil
	}
	return nil, nil
}

// mustBus is getBus that answers ResourceNotFoundException for a missing bus.
func mustBus(ctx context.Context, c *call.Call, name string) (*Bus, error) {
	b, err := getBus(ctx, c, name)
	if err == nil && b == nil {
		err = errf("ResourceNotFoundException", "Event bus %s does not exist.", name)
	}
	return b, err
}

func saveBus(ctx context.Context, c *call.Call, b *Bus) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	c.Touch(BusType, b.Name, b.Arn)
	return c.Write().PutResource(ctx, &store.Resource{Account: c.Account, Region: c.Region, Type: BusType,
		ID: b.Name, ARN: b.Arn, Name: b.Name, Config: raw, Tags: b.tags})
}

// CreateEventBus creates a custom event bus.
func (s *Service) CreateEventBus(ctx context.Context, in *events.CreateEventBusRequest) (*events.CreateEventBusResponse, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	switch {
	case !busNameChars.MatchString(name):
		return nil, badPattern("name", name, `[/\.\-_A-Za-z0-9]+`)
	case strings.Contains(name, "/"):
		return nil, errf("ValidationException", "Event bus name must not contain '/'.")
	case strings.HasPrefix(name, "aws.") && in.EventSourceName == nil:
		return nil, errf("ValidationException", "Event bus name must not start with 'aws.'.")
	case in.EventSourceName != nil:
		return nil, errf("ResourceNotFoundException", "Event source %s does not exist.", aws.ToString(in.EventSourceName))
	}
	existing, err := getBus(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, errf("ResourceAlreadyExistsException", "Event bus %s already exists.", name)
	}
	tags, err := tagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	b := &Bus{Name: name, Arn: BusARN(c.Region, c.Account, name), Description: aws.ToString(in.Description),
		KmsKeyIdentifier: aws.ToString(in.KmsKeyIdentifier), DeadLetterConfig: in.DeadLetterConfig, LogConfig: in.LogConfig,
		Created: c.Time, Modified: c.Time, tags: tags}
	if err := saveBus(ctx, c, b); err != nil {
		return nil, err
	}
	return &events.CreateEventBusResponse{EventBusArn: aws.String(b.Arn), Description: opt(b.Description),
		KmsKeyIdentifier: opt(b.KmsKeyIdentifier), DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}, nil
}

// DescribeEventBus describes a bus (the default one when no name is given).
func (s *Service) DescribeEventBus(ctx context.Context, in *events.DescribeEventBusRequest) (*events.DescribeEventBusResponse, error) {
	c := call.From(ctx)
	name, err := busName(c, aws.ToString(in.Name))
	if err != nil {
		return nil, err
	}
	b, err := mustBus(ctx, c, name)
	if err != nil {
		return nil, err
	}
	out := &events.DescribeEventBusResponse{Name: aws.String(b.Name), Arn: aws.String(b.Arn), Description: opt(b.Description),
		KmsKeyIdentifier: opt(b.KmsKeyIdentifier), DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}
	if !b.Created.IsZero() {
		out.CreationTime, out.LastModifiedTime = aws.Time(b.Created), aws.Time(b.Modified)
	}
	return out, nil
}

// DeleteEventBus deletes a custom bus. Deleting a bus that does not exist succeeds;
// deleting the default bus, or a bus that still has rules, is refused.
func (s *Service) DeleteEventBus(ctx context.Context, in *events.DeleteEventBusRequest) (*events.DeleteEventBusOutput, error) {
	c := call.From(ctx)
	name := aws.ToString(in.Name)
	if name == DefaultBus {
		return nil, errf("ValidationException", "Cannot delete event bus default.")
	}
	b, err := getBus(ctx, c, name)
	if err != nil || b == nil {
		return &events.DeleteEventBusOutput{}, err
	}
	rules, err := rulesOn(ctx, c.Tx, c.Account, c.Region, name)
	if err != nil {
		return nil, err
	}
	if len(rules) > 0 {
		return nil, errf("ValidationException", "EventBus can't be deleted since it has rules.")
	}
	c.Touch(BusType, b.Name, b.Arn)
	if err := c.Write().DeleteResource(ctx, c.Account, c.Region, BusType, name); err != nil {
		return nil, fmt.Errorf("bus: delete event bus %s: %w", name, err)
	}
	return &events.DeleteEventBusOutput{}, nil
}

// allBuses returns the buses of an account and region, the default one included, by name.
func allBuses(ctx context.Context, c *call.Call) ([]*Bus, error) {
	var out []*Bus
	haveDefault := false
	after := ""
	for {
		rs, next, err := c.Tx.ListResources(ctx, store.ResourceQuery{Account: c.Account, Region: c.Region, Type: BusType, After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("bus: list event buses: %w", err)
		}
		for _, r := range rs {
			b, err := decodeBus(r)
			if err != nil {
				return nil, err
			}
			haveDefault = haveDefault || b.Name == DefaultBus
			out = append(out, b)
		}
		if next == "" {
			break
		}
		after = next
	}
	if !haveDefault {
		out = append(out, &Bus{Name: DefaultBus, Arn: BusARN(c.Region, c.Account, DefaultBus)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ListEventBuses lists the buses of the call's account and region.
func (s *Service) ListEventBuses(ctx context.Context, in *events.ListEventBusesRequest) (*events.ListEventBusesResponse, error) {
	c := call.From(ctx)
	buses, err := allBuses(ctx, c)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(buses))
	byName := map[string]*Bus{}
	for _, b := range buses {
		if strings.HasPrefix(b.Name, aws.ToString(in.NamePrefix)) {
			names = append(names, b.Name)
			byName[b.Name] = b
		}
	}
	page, next, err := paginate(names, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &events.ListEventBusesResponse{EventBuses: []events.EventBus{}, NextToken: next}
	for _, n := range page {
		b := byName[n]
		eb := events.EventBus{Name: aws.String(b.Name), Arn: aws.String(b.Arn), Description: opt(b.Description)}
		if !b.Created.IsZero() {
			eb.CreationTime, eb.LastModifiedTime = aws.Time(b.Created), aws.Time(b.Modified)
		}
		out.EventBuses = append(out.EventBuses, eb)
	}
	return out, nil
}
