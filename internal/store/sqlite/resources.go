package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

const resourceCols = "account, region, type, id, arn, name, config, tags, version, created, updated"

func (s *Store) scanResource(rows interface{ Scan(...any) error }) (*store.Resource, error) {
	var r store.Resource
	var config, tags []byte
	var created, updated int64
	if err := rows.Scan(&r.Account, &r.Region, &r.Type, &r.ID, &r.ARN, &r.Name, &config, &tags, &r.Version, &created, &updated); err != nil {
		return nil, err
	}
	if config != nil {
		r.Config = json.RawMessage(config)
	}
	if len(tags) > 0 {
		var err error
		if r.Tags, err = s.tags.decode(tags); err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
	}
	r.Created, r.Updated = fromNanos(created), fromNanos(updated)
	return &r, nil
}

func (t *rtx) resources(ctx context.Context, q string, args ...any) ([]*store.Resource, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []*store.Resource
	for rows.Next() {
		r, err := t.s.scanResource(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// GetResource implements store.ReadTx.
func (t *rtx) GetResource(ctx context.Context, account, region, typ, id string) (*store.Resource, error) {
	rs, err := t.resources(ctx, "SELECT "+resourceCols+` FROM resources
		WHERE account = ? AND region = ? AND type = ? AND id = ? AND deleted = 0`, account, region, typ, id)
	if err != nil {
		return nil, fmt.Errorf("store: get resource %s %s: %w", typ, id, err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return rs[0], nil
}

// FindResources implements store.ReadTx.
func (t *rtx) FindResources(ctx context.Context, typ, id string) ([]*store.Resource, error) {
	rs, err := t.resources(ctx, "SELECT "+resourceCols+` FROM resources INDEXED BY resources_by_type_id
		WHERE type = ? AND id = ? AND deleted = 0 ORDER BY account, region`, typ, id)
	if err != nil {
		return nil, fmt.Errorf("store: find resources %s %s: %w", typ, id, err)
	}
	return rs, nil
}

// ListResources implements store.ReadTx. With account, region and type set (the services'
// case) a page is one range of the primary key; otherwise pages follow (id, type, account,
// region).
func (t *rtx) ListResources(ctx context.Context, q store.ResourceQuery) ([]*store.Resource, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	h := queryHash("resources", q.Account, q.Region, q.Type)
	var tok pageToken
	if q.After != "" {
		var err error
		if tok, err = decodeToken(q.After, h); err != nil {
			return nil, "", fmt.Errorf("store: list resources: %w", err)
		}
	}
	exact := q.Account != "" && q.Region != "" && q.Type != ""
	var where []string
	var args []any
	where = append(where, "deleted = 0")
	for _, c := range []struct{ col, v string }{{"account", q.Account}, {"region", q.Region}, {"type", q.Type}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	order := "id, type, account, region"
	if exact {
		order = "id"
		if q.After != "" {
			where = append(where, "id > ?")
			args = append(args, tok.I)
		}
	} else if q.After != "" {
		where = append(where, "(id, type, account, region) > (?, ?, ?, ?)")
		args = append(args, tok.I, tok.Y, tok.A, tok.R)
	}
	args = append(args, limit+1)
	rs, err := t.resources(ctx, "SELECT "+resourceCols+" FROM resources WHERE "+strings.Join(where, " AND ")+
		" ORDER BY "+order+" LIMIT ?", args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list resources: %w", err)
	}
	next := ""
	if len(rs) > limit {
		rs = rs[:limit]
		last := rs[limit-1]
		next = encodeToken(pageToken{Q: h, I: last.ID, Y: last.Type, A: last.Account, R: last.Region})
	}
	return rs, next, nil
}

// ResourceHistory implements store.ReadTx.
func (t *rtx) ResourceHistory(ctx context.Context, q store.HistoryQuery) ([]*store.ResourceChange, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	h := queryHash("history", q.Account, q.Region, q.Type, q.ID, nanos(q.Earlier), nanos(q.Later), q.Chronological)
	where := []string{"account = ? AND region = ? AND type = ? AND id = ?"}
	args := []any{q.Account, q.Region, q.Type, q.ID}
	if !q.Earlier.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, q.Earlier.UnixNano())
	}
	if !q.Later.IsZero() {
		where = append(where, "time <= ?")
		args = append(args, q.Later.UnixNano())
	}
	order, cmp := "version DESC", "version < ?"
	if q.Chronological {
		order, cmp = "version", "version > ?"
	}
	if q.NextToken != "" {
		tok, err := decodeToken(q.NextToken, h)
		if err != nil {
			return nil, "", fmt.Errorf("store: resource history: %w", err)
		}
		where = append(where, cmp)
		args = append(args, tok.S)
	}
	args = append(args, limit+1)
	rows, err := t.query(ctx, "SELECT doc FROM resource_versions WHERE "+strings.Join(where, " AND ")+
		" ORDER BY "+order+" LIMIT ?", args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: resource history %s %s: %w", q.Type, q.ID, err)
	}
	defer rows.Close()
	var cs []*store.ResourceChange
	for rows.Next() {
		var stored []byte
		if err := rows.Scan(&stored); err != nil {
			return nil, "", fmt.Errorf("store: resource history %s %s: %w", q.Type, q.ID, err)
		}
		doc, err := unpackJSON(stored)
		if err != nil {
			return nil, "", fmt.Errorf("store: resource history %s %s: %w", q.Type, q.ID, err)
		}
		var c store.ResourceChange
		if err := json.Unmarshal(doc, &c); err != nil {
			return nil, "", fmt.Errorf("store: resource history %s %s: %w", q.Type, q.ID, err)
		}
		cs = append(cs, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: resource history %s %s: %w", q.Type, q.ID, err)
	}
	next := ""
	if len(cs) > limit {
		cs = cs[:limit]
		next = encodeToken(pageToken{Q: h, S: cs[limit-1].Version})
	}
	return cs, next, nil
}

// PutResource implements store.Tx.
func (t *wtx) PutResource(ctx context.Context, r *store.Resource) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if r.Type == "" || r.ID == "" {
		return fmt.Errorf("store: put resource: type and id are required (got %q %q)", r.Type, r.ID)
	}
	if err := t.putResource(ctx, r); err != nil {
		return fmt.Errorf("store: put resource %s %s: %w", r.Type, r.ID, err)
	}
	return nil
}

func (t *wtx) putResource(ctx context.Context, r *store.Resource) error {
	var version, created, deleted int64
	var found bool
	key := resKey{r.Account, r.Region, r.Type, r.ID}
	if cur, ok := t.cached(key); ok && cur != nil {
		version, created, found = cur.Version, cur.Created.UnixNano(), true
	} else {
		var err error
		found, err = t.queryRow(ctx, "SELECT version, created, deleted FROM resources WHERE account = ? AND region = ? AND type = ? AND id = ?",
			[]any{r.Account, r.Region, r.Type, r.ID}, &version, &created, &deleted)
		if err != nil {
			return err
		}
	}
	now := t.now()
	c := store.ResourceChange{Resource: *r, Status: store.StatusOK, EventID: store.EventIDFrom(ctx)}
	c.Version = version + 1
	c.Updated = now
	switch {
	case found && deleted == 0:
		c.Created = fromNanos(created)
	case c.Created.IsZero():
		c.Created = now
	}
	if !found || deleted != 0 {
		c.Status = store.StatusDiscovered
	}
	c.Created = c.Created.UTC()
	var tags []byte
	if len(r.Tags) > 0 {
		var plain bool
		var err error
		if tags, plain, err = encodeTags(r.Tags); err != nil {
			return err
		}
		if plain {
			t.s.tags.put(tags, r.Tags)
		}
	}
	doc, err := changeDoc(&c, tags)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	var config []byte
	if r.Config != nil {
		config = r.Config
	}
	if _, err := t.exec(ctx, `INSERT INTO resources (`+resourceCols+`, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (account, region, type, id) DO UPDATE SET arn = excluded.arn, name = excluded.name,
		config = excluded.config, tags = excluded.tags, version = excluded.version, created = excluded.created,
		updated = excluded.updated, deleted = 0`,
		r.Account, r.Region, r.Type, r.ID, r.ARN, r.Name, config, tags, c.Version, c.Created.UnixNano(), now.UnixNano()); err != nil {
		return err
	}
	if err := t.history(ctx, &c, doc); err != nil {
		return err
	}
	r.Version, r.Created, r.Updated = c.Version, c.Created, c.Updated
	t.touch(r, key)
	return nil
}

// GetResource implements store.ReadTx, through the writer's resource cache (see live).
func (t *wtx) GetResource(ctx context.Context, account, region, typ, id string) (*store.Resource, error) {
	k := resKey{account, region, typ, id}
	if r, ok := t.cached(k); ok {
		return r, nil
	}
	r, err := t.rtx.GetResource(ctx, account, region, typ, id)
	if err == nil {
		t.touch(r, k)
	}
	return r, err
}

// history records one version of a resource and announces it on the stream.
func (t *wtx) history(ctx context.Context, c *store.ResourceChange, doc []byte) error {
	res, err := t.exec(ctx, `INSERT INTO resource_versions (account, region, type, id, version, time, status, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.Account, c.Region, c.Type, c.ID, c.Version, c.Updated.UnixNano(), c.Status, packJSON(doc))
	if err != nil {
		return err
	}
	row, err := res.LastInsertId()
	if err != nil {
		return err
	}
	_, err = t.appendRef(ctx, store.KindResource, c.Updated, doc, streamHistory, row)
	return err
}

// DeleteResource implements store.Tx.
func (t *wtx) DeleteResource(ctx context.Context, account, region, typ, id string) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	r, err := t.GetResource(ctx, account, region, typ, id)
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("store: delete resource %s %s: %w", typ, id, store.ErrNotFound)
	}
	now := t.now()
	c := store.ResourceChange{Resource: *r, Status: store.StatusDeleted, EventID: store.EventIDFrom(ctx)}
	c.Version++
	c.Updated = now
	doc, err := changeDoc(&c, nil)
	if err != nil {
		return fmt.Errorf("store: delete resource %s %s: encode: %w", typ, id, err)
	}
	if _, err := t.exec(ctx, `UPDATE resources SET deleted = 1, version = ?, updated = ?
		WHERE account = ? AND region = ? AND type = ? AND id = ?`, c.Version, now.UnixNano(), account, region, typ, id); err != nil {
		return fmt.Errorf("store: delete resource %s %s: %w", typ, id, err)
	}
	if err := t.history(ctx, &c, doc); err != nil {
		return fmt.Errorf("store: delete resource %s %s: %w", typ, id, err)
	}
	t.touch(nil, resKey{account, region, typ, id})
	return nil
}

// changeDoc encodes a ResourceChange. The configuration and the tags (already encoded for
// the tags column, or nil to encode them here) are spliced in as they are rather than
// through json.Marshal, which would sort the tags again and re-validate and compact the whole
// configuration on every change; both are JSON produced by encoding/json already.
func changeDoc(c *store.ResourceChange, tags []byte) ([]byte, error) {
	if tags == nil && len(c.Tags) > 0 {
		var err error
		if tags, _, err = encodeTags(c.Tags); err != nil {
			return nil, err
		}
	}
	config, tagMap := c.Config, c.Tags
	c.Config, c.Tags = nil, nil
	doc, err := json.Marshal(c)
	c.Config, c.Tags = config, tagMap
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(doc)+len(config)+len(tags)+20)
	out = append(out, doc[:len(doc)-1]...)
	if len(tags) > 0 {
		out = append(out, `,"tags":`...)
		out = append(out, tags...)
	}
	if len(config) > 0 {
		out = append(out, `,"config":`...)
		out = append(out, config...)
	}
	return append(out, '}'), nil
}
