package sqlite

import (
	"maps"
	"slices"

	"github.com/bannin/bannin/internal/store"
)

// The writer's resource cache. Most write handlers read a resource, change it and write it
// back; reading the row (tags and configuration, often past an overflow page) was an eighth
// of the writer's time per call. The writer is the only one that changes resources, so the
// state it last read or wrote stays true while its transactions commit: live holds it,
// updated only with what a write function read or wrote once the function has succeeded,
// emptied when a transaction fails, when another connection commits (checkForeignAppends)
// or when it grows past liveMax. Write transactions read through it; Views never do.
type resKey struct{ account, region, typ, id string }

const liveMax = 4096

// cached returns a copy of what the writer knows of a resource: ok is false when it does
// not know; r is nil for one that does not exist (or is deleted).
func (t *wtx) cached(k resKey) (r *store.Resource, ok bool) {
	if r, ok = t.touched[k]; !ok {
		r, ok = t.s.live[k]
	}
	if r != nil {
		r = copyResource(r)
	}
	return r, ok
}

// touch records what this write function read or wrote of a resource (nil: none).
func (t *wtx) touch(r *store.Resource, k resKey) {
	if t.touched == nil {
		t.touched = map[resKey]*store.Resource{}
	}
	if r != nil {
		r = copyResource(r)
	}
	t.touched[k] = r
}

// keep merges what a write function that succeeded read or wrote into the cache.
func (s *Store) keep(touched map[resKey]*store.Resource) {
	if len(s.live)+len(touched) > liveMax {
		clear(s.live)
	}
	for k, r := range touched {
		if r == nil {
			delete(s.live, k)
		} else {
			s.live[k] = r
		}
	}
}

// copyResource copies r as a fresh read of its row would give it.
func copyResource(r *store.Resource) *store.Resource {
	c := *r
	if r.Config != nil {
		c.Config = slices.Clone(r.Config)
	}
	c.Tags = nil
	if len(r.Tags) > 0 {
		c.Tags = maps.Clone(r.Tags)
	}
	return &c
}
