// Command sqlitefloor measures what SQLite (modernc.org/sqlite, the store's engine) costs per
// event row for the event history's schema and simpler ones, in CPU time of this process:
// the floor under `bannin import`'s writer, whatever the code around it does. Each variant
// inserts -rows rows of CloudTrail-shaped columns in transactions of 10,000 on a fresh WAL
// database with synchronous=NORMAL and a 64 MiB page cache, as the store opens it.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/bannin/bannin/bench/internal/harness"
)

const table = `CREATE TABLE events (seq INTEGER PRIMARY KEY, scope INTEGER NOT NULL, event_id TEXT NOT NULL,
	time INTEGER NOT NULL, account TEXT, region TEXT, category TEXT, event_name TEXT, event_source TEXT, username TEXT,
	access_key_id TEXT, read_only INTEGER, record BLOB)`

var (
	byEventID = `CREATE UNIQUE INDEX events_by_event_id ON events (event_id)`
	byAttr    = []string{
		`CREATE INDEX events_by_time ON events (scope, time)`,
		`CREATE INDEX events_by_name ON events (scope, event_name, time)`,
		`CREATE INDEX events_by_source ON events (scope, event_source, time)`,
		`CREATE INDEX events_by_user ON events (scope, username, time)`,
		`CREATE INDEX events_by_key ON events (scope, access_key_id, time)`,
		`CREATE INDEX events_by_readonly ON events (scope, read_only, time)`,
	}
)

type variant struct {
	name   string
	record int      // bytes of record per row
	schema []string // after the table
	after  []string // run once all rows are in (bulk index builds)
}

func main() {
	rows := flag.Int("rows", 200_000, "rows per variant")
	flag.Parse()
	fmt.Println("command:", harness.CommandLine())
	fmt.Println("machine:", harness.Machine())
	fmt.Println()
	all := append([]string{byEventID}, byAttr...)
	vs := []variant{
		{"table only, record 1,300 B", 1300, nil, nil},
		{"table only, record 450 B (S2-compressed size)", 450, nil, nil},
		{"table only, no record", 0, nil, nil},
		{"+ event_id unique index (random UUIDs), 450 B", 450, []string{byEventID}, nil},
		{"+ (scope, time) index, 450 B", 450, byAttr[:1], nil},
		{"store's schema today (7 indexes), 1,300 B", 1300, all, nil},
		{"store's schema today (7 indexes), 450 B", 450, all, nil},
		{"event_id index, 6 indexes built after (CREATE INDEX), 450 B", 450, []string{byEventID}, byAttr},
	}
	fmt.Printf("%-62s %14s %14s %12s\n", "variant", "insert µs/row", "after µs/row", "total µs/row")
	for _, v := range vs {
		ins, after, err := run(v, *rows)
		if err != nil {
			log.Fatalf("%s: %v", v.name, err)
		}
		fmt.Printf("%-62s %14.1f %14.1f %12.1f\n", v.name, us(ins, *rows), us(after, *rows), us(ins+after, *rows))
	}
}

func us(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(v variant, n int) (insert, after time.Duration, err error) {
	dir, err := os.MkdirTemp("", "sqlitefloor-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "x.db")+"?_journal_mode=WAL&_synchronous=NORMAL&_pragma=cache_size(-65536)")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range append([]string{table}, v.schema...) {
		if _, err := db.Exec(s); err != nil {
			return 0, 0, err
		}
	}
	// Rows and their values are made before the clock starts.
	rnd := rand.New(rand.NewPCG(1, 2))
	rec := []byte(strings.Repeat("x", v.record))
	names := []string{"GetObject", "PutObject", "DescribeInstances", "AssumeRole", "ListBuckets", "CreateTrail", "Decrypt", "GetCallerIdentity"}
	type row struct {
		scope, time       int64
		id, name, user, k string
		ro                bool
	}
	rs := make([]row, n)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range rs {
		rs[i] = row{scope: int64(i % 9), time: base + int64(i)*int64(time.Second/10) + rnd.Int64N(int64(time.Minute)),
			id:   fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rnd.Uint32(), rnd.Uint32()&0xffff, rnd.Uint32()&0xfff, rnd.Uint32()&0xfff, rnd.Uint64()&0xffffffffffff),
			name: names[rnd.IntN(len(names))], user: fmt.Sprintf("user-%d", rnd.IntN(50)), k: fmt.Sprintf("AKIA%016d", rnd.IntN(80)),
			ro: rnd.IntN(3) > 0}
	}
	c0 := cpu()
	for b := 0; b < n; b += 10_000 {
		tx, err := db.Begin()
		if err != nil {
			return 0, 0, err
		}
		st, err := tx.Prepare(`INSERT INTO events (scope, event_id, time, account, region, category, event_name, event_source,
			username, access_key_id, read_only, record) VALUES (?, ?, ?, '123456789012', 'us-east-1', 'Management', ?, 's3.amazonaws.com', ?, ?, ?, ?)`)
		if err != nil {
			return 0, 0, err
		}
		for _, r := range rs[b:min(b+10_000, n)] {
			if _, err := st.Exec(r.scope, r.id, r.time, r.name, r.user, r.k, r.ro, rec); err != nil {
				return 0, 0, err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return 0, 0, err
		}
	}
	insert = cpu() - c0
	c0 = cpu()
	for _, s := range v.after {
		if _, err := db.Exec(s); err != nil {
			return 0, 0, err
		}
	}
	return insert, cpu() - c0, nil
}
