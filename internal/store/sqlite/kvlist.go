package sqlite

import (
	"context"
	"fmt"

	"github.com/bannin/bannin/internal/store"
)

// List implements store.ReadTx: a key-ordered scan of one bucket of the key-value space.
func (t *rtx) List(ctx context.Context, bucket, prefix, after string, limit int) ([]store.KV, error) {
	if limit <= 0 {
		limit = 1000
	}
	lo := prefix
	if after > lo {
		lo = after
	}
	// No valid UTF-8 key that starts with prefix sorts at or above prefix+0xFF.
	rows, err := t.query(ctx, `SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key < ? AND key != ?
		ORDER BY key LIMIT ?`, bucket, lo, prefix+"\xff", after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list %s/%s: %w", bucket, prefix, err)
	}
	defer rows.Close()
	var out []store.KV
	for rows.Next() {
		var kv store.KV
		if err := rows.Scan(&kv.Key, &kv.Value); err != nil {
			return nil, fmt.Errorf("store: list %s/%s: %w", bucket, prefix, err)
		}
		out = append(out, kv)
	}
	return out, rows.Err()
}
