package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

// reservedOrganizations are the first parts of type names a third-party type may not use.
var reservedOrganizations = []string{"aws", "amzn", "amazon", "alexa", "custom"}

// maxCustomConfiguration is the largest configuration PutResourceConfig accepts (64 KB).
const maxCustomConfiguration = 64 * 1024

// schemasBucket holds the SchemaVersionId each PutResourceConfig gave, keyed like
// historyBucket (resource and store version), so each item shows the schema version its
// configuration was recorded with.
const schemasBucket = "config.schemas"

// supplementarySchemaVersion is the supplementaryConfiguration key under which the items
// of third-party resources show their SchemaVersionId.
const supplementarySchemaVersion = "SchemaVersionId"

// isCustomType reports whether typ is a third-party type (recorded with PutResourceConfig).
func isCustomType(typ string) bool { return checkCustomType(typ) == nil }

// addSchemaVersion puts the SchemaVersionId recorded with a third-party resource's version
// into its item.
func addSchemaVersion(ctx context.Context, tx store.ReadTx, it *Item, version int64) error {
	if !isCustomType(it.ResourceType) || isDeleted(it.Status) {
		return nil
	}
	v, err := tx.Get(ctx, schemasBucket, historyKey(it.AccountID, it.Region, it.ResourceType, it.ResourceID, version))
	if err != nil {
		return fmt.Errorf("recorder: load schema version of %s %s: %w", it.ResourceType, it.ResourceID, err)
	}
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(string(v))
	it.Supplementary[supplementarySchemaVersion] = b
	return nil
}

func validation(format string, args ...any) error {
	return &config.ValidationException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// checkCustomType refuses type names that are not Org::Service::Resource or use a reserved
// organization.
func checkCustomType(typ string) error {
	if !resourceTypePattern.MatchString(typ) {
		return validation("The resource type %s is not valid: it must be of the form Organization::Service::Resource.", typ)
	}
	org, _, _ := strings.Cut(typ, "::")
	for _, r := range reservedOrganizations {
		if strings.EqualFold(org, r) {
			return validation("You cannot use the organization name '%s' with custom resource types.", org)
		}
	}
	return nil
}

func runningRecorder(ctx context.Context, c *call.Call) error {
	rec, err := loadRecorder(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return err
	}
	if rec == nil || !rec.Recording {
		return &config.NoRunningConfigurationRecorderException{Message: aws.String("There is no configuration recorder running.")}
	}
	return nil
}

// PutResourceConfig records the configuration of a third-party resource: it becomes a
// resource in the store, so it gets items and history like any other. Its SchemaVersionId
// is kept with the version and shown in the item's supplementaryConfiguration.
func (s *Service) PutResourceConfig(ctx context.Context, in *config.PutResourceConfigRequest) (*config.PutResourceConfigOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	typ, id := aws.ToString(in.ResourceType), aws.ToString(in.ResourceId)
	if err := checkCustomType(typ); err != nil {
		return nil, err
	}
	if id == "" || len(id) > 768 {
		return nil, validation("ResourceId must be 1 to 768 characters.")
	}
	if v := aws.ToString(in.SchemaVersionId); v == "" || len(v) > 128 {
		return nil, validation("SchemaVersionId must be 1 to 128 characters.")
	}
	cfg := aws.ToString(in.Configuration)
	if len(cfg) > maxCustomConfiguration {
		return nil, validation("The configuration JSON must not exceed 64 KB.")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(cfg), &doc); err != nil {
		return nil, validation("The configuration is not a valid JSON object: %v", err)
	}
	if len(in.Tags) > 50 {
		return nil, validation("A resource can have at most 50 tags.")
	}
	if err := runningRecorder(ctx, c); err != nil {
		return nil, err
	}
	r := &store.Resource{Account: c.Account, Region: c.Region, Type: typ, ID: id, Name: aws.ToString(in.ResourceName),
		Config: json.RawMessage(cfg), Tags: in.Tags}
	if err := tx.PutResource(ctx, r); err != nil {
		return nil, fmt.Errorf("recorder: put resource %s %s: %w", typ, id, err)
	}
	if err := tx.Put(ctx, schemasBucket, historyKey(c.Account, c.Region, typ, id, r.Version), []byte(aws.ToString(in.SchemaVersionId))); err != nil {
		return nil, fmt.Errorf("recorder: save schema version of %s %s: %w", typ, id, err)
	}
	c.Touch(typ, id, "")
	return &config.PutResourceConfigOutput{}, nil
}

// DeleteResourceConfig records that a third-party resource was deleted.
func (s *Service) DeleteResourceConfig(ctx context.Context, in *config.DeleteResourceConfigRequest) (*config.DeleteResourceConfigOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	typ, id := aws.ToString(in.ResourceType), aws.ToString(in.ResourceId)
	if err := checkCustomType(typ); err != nil {
		return nil, err
	}
	if err := runningRecorder(ctx, c); err != nil {
		return nil, err
	}
	if err := tx.DeleteResource(ctx, c.Account, c.Region, typ, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, validation("The resource %s of type %s does not exist.", id, typ)
		}
		return nil, fmt.Errorf("recorder: delete resource %s %s: %w", typ, id, err)
	}
	c.Touch(typ, id, "")
	return &config.DeleteResourceConfigOutput{}, nil
}
