package trail

import (
	"bytes"
	"slices"
	"sync"

	"github.com/bannin/bannin/internal/wire/cloudtrail"
)

// maxDecodedTrails bounds decodedTrails; past it the cache starts over (accounts rarely
// have more than a handful of trails per region).
const maxDecodedTrails = 4096

// trailKey names a stored trail: its account, home region and name (the resource id).
type trailKey struct{ account, region, id string }

// decodedCache keeps the last decoded form of each trail's stored configuration. An entry
// is used only when the document read in the caller's own transaction is byte for byte
// the one it was decoded from, so it can never answer a trail that has since changed,
// been deleted and re-created, or been rolled back: it saves the JSON decode, not the read.
type decodedCache struct {
	mu sync.Mutex
	m  map[trailKey]*decodedTrail
}

type decodedTrail struct {
	config []byte
	t      Trail
}

var decodedTrails = &decodedCache{}

// get returns a copy of the trail decoded from config, if it is the one cached for k.
// The copy's slices and times are its own, so a handler may change them freely.
func (c *decodedCache) get(k trailKey, config []byte) (*Trail, bool) {
	c.mu.Lock()
	d := c.m[k]
	c.mu.Unlock()
	if d == nil || !bytes.Equal(d.config, config) {
		return nil, false
	}
	return d.t.clone(), true
}

// put remembers t as decoded from config; t itself stays the caller's.
func (c *decodedCache) put(k trailKey, config []byte, t *Trail) {
	d := &decodedTrail{config: bytes.Clone(config), t: *t.clone()}
	d.t.tags, d.t.stored = nil, nil
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecodedTrails {
		c.m = map[trailKey]*decodedTrail{}
	}
	c.m[k] = d
	c.mu.Unlock()
}

// clone copies t deeply enough that no change a handler makes to the copy (setting a
// field, replacing or editing a selector list, moving a logging time) reaches t.
func (t *Trail) clone() *Trail {
	n := *t
	n.EventSelectors = cloneSelectors(t.EventSelectors)
	n.AdvancedEventSelectors = cloneAdvanced(t.AdvancedEventSelectors)
	n.InsightSelectors = cloneInsights(t.InsightSelectors)
	n.StartLoggingTime = clonePtr(t.StartLoggingTime)
	n.StopLoggingTime = clonePtr(t.StopLoggingTime)
	return &n
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneSelectors(in []cloudtrail.EventSelector) []cloudtrail.EventSelector {
	if in == nil {
		return nil
	}
	out := make([]cloudtrail.EventSelector, len(in))
	for i, e := range in {
		out[i] = cloudtrail.EventSelector{ReadWriteType: clonePtr(e.ReadWriteType), IncludeManagementEvents: clonePtr(e.IncludeManagementEvents),
			ExcludeManagementEventSources: slices.Clone(e.ExcludeManagementEventSources)}
		if e.DataResources != nil {
			out[i].DataResources = make([]cloudtrail.DataResource, len(e.DataResources))
			for j, d := range e.DataResources {
				out[i].DataResources[j] = cloudtrail.DataResource{Type: clonePtr(d.Type), Values: slices.Clone(d.Values)}
			}
		}
	}
	return out
}

func cloneAdvanced(in []cloudtrail.AdvancedEventSelector) []cloudtrail.AdvancedEventSelector {
	if in == nil {
		return nil
	}
	out := make([]cloudtrail.AdvancedEventSelector, len(in))
	for i, a := range in {
		out[i] = cloudtrail.AdvancedEventSelector{Name: clonePtr(a.Name)}
		if a.FieldSelectors != nil {
			out[i].FieldSelectors = make([]cloudtrail.AdvancedFieldSelector, len(a.FieldSelectors))
			for j, f := range a.FieldSelectors {
				out[i].FieldSelectors[j] = cloudtrail.AdvancedFieldSelector{Field: clonePtr(f.Field), Equals: slices.Clone(f.Equals),
					StartsWith: slices.Clone(f.StartsWith), EndsWith: slices.Clone(f.EndsWith), NotEquals: slices.Clone(f.NotEquals),
					NotStartsWith: slices.Clone(f.NotStartsWith), NotEndsWith: slices.Clone(f.NotEndsWith)}
			}
		}
	}
	return out
}

func cloneInsights(in []cloudtrail.InsightSelector) []cloudtrail.InsightSelector {
	if in == nil {
		return nil
	}
	out := make([]cloudtrail.InsightSelector, len(in))
	for i, s := range in {
		out[i] = cloudtrail.InsightSelector{InsightType: clonePtr(s.InsightType), EventCategories: slices.Clone(s.EventCategories)}
	}
	return out
}
