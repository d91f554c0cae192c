package recorder

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

// itemVersion is the configurationItemVersion of every item the recorder makes.
const itemVersion = "1.3"

// shaper turns a stored resource into AWS Config's configuration, supplementaryConfiguration
// and relationships for its type; types without one get their stored document as is.
type shaper func(r *store.Resource) (config json.RawMessage, supp map[string]json.RawMessage, rels []Relationship, err error)

// shapers are the per-type shapers, registered by the type files (s3.go, cloudtrail.go).
var shapers = map[string]shaper{}

// isGlobal reports whether a type is global (IAM): recorded in one region only.
func isGlobal(typ string) bool { return strings.HasPrefix(typ, "AWS::IAM::") }

// buildItem makes the configuration item of one resource change. status is the
// configurationItemStatus; stateID the item's configurationStateId.
func buildItem(c *store.ResourceChange, status, stateID, frequency string) (*Item, error) {
	it := &Item{
		Version:            itemVersion,
		CaptureTime:        c.Updated.UTC(),
		StateID:            stateID,
		Status:             status,
		AccountID:          c.Account,
		Region:             c.Region,
		AvailabilityZone:   "Regional",
		ResourceType:       c.Type,
		ResourceID:         c.ID,
		ResourceName:       c.Name,
		ARN:                c.ARN,
		Tags:               map[string]string{},
		RelatedEvents:      []string{},
		Relationships:      []Relationship{},
		Supplementary:      map[string]json.RawMessage{},
		RecordingFrequency: frequency,
	}
	if isGlobal(c.Type) {
		it.AvailabilityZone = "Not Applicable"
	}
	if !c.Created.IsZero() {
		t := c.Created.UTC()
		it.ResourceCreationTime = &t
	}
	if c.EventID != "" {
		it.RelatedEvents = []string{c.EventID}
	}
	if isDeleted(status) {
		it.Configuration = json.RawMessage("null")
		return it, nil
	}
	for k, v := range c.Tags {
		it.Tags[k] = v
	}
	if sh := shapers[c.Type]; sh != nil {
		cfg, supp, rels, err := sh(&c.Resource)
		if err != nil {
			return nil, fmt.Errorf("recorder: shape %s %s: %w", c.Type, c.ID, err)
		}
		it.Configuration = cfg
		if supp != nil {
			it.Supplementary = supp
		}
		if rels != nil {
			it.Relationships = rels
		}
	} else {
		it.Configuration = c.Config
	}
	if len(it.Configuration) == 0 || !json.Valid(it.Configuration) {
		it.Configuration = json.RawMessage("{}")
	}
	sum := md5.Sum(it.Configuration)
	it.StateMD5Hash = hex.EncodeToString(sum[:])
	return it, nil
}
