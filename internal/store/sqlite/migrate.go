package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step; version is the number its file name starts with.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// SchemaVersion identifies the embedded schema: the newest migration number and a hash of all
// migration files. Caches of built databases (benchmarks) key on it.
func SchemaVersion() string {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return "invalid"
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.sql))
	}
	return fmt.Sprintf("%d-%s", ms[len(ms)-1].version, hex.EncodeToString(h.Sum(nil))[:12])
}

// migrate applies, each in its own transaction, the embedded migrations newer than the
// database's schema_migrations.
func migrate(ctx context.Context, c *sql.Conn, now time.Time) error {
	return migrateTo(ctx, c, now, math.MaxInt)
}

// migrateTo is migrate up to version upTo (tests build older stores with it).
func migrateTo(ctx context.Context, c *sql.Conn, now time.Time, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := c.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n := len(ms); n > 0 && current > ms[n-1].version {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, ms[n-1].version)
	}
	for _, m := range ms {
		if m.version <= current || m.version > upTo {
			continue
		}
		if err := apply(ctx, c, m, now); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, c *sql.Conn, m migration, now time.Time) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
		m.version, m.name, now.UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}
