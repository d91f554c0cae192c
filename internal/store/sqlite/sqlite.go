// Package sqlite is the embedded store.Store: one SQLite database file (<dir>/bannin.db) in WAL
// mode, through modernc.org/sqlite (pure Go, no cgo).
//
// Writes go through one writer goroutine that owns the only write connection and
// group-commits: it takes every queued Update, runs each function inside its own SAVEPOINT of
// one shared transaction (a failing function rolls back only its savepoint), commits once, and
// then answers every caller; Updates queued while a batch runs join it (see join). One commit
// per batch instead of one per call is what makes thousands of small recorded writes per
// second possible. Reads (View) run concurrently on a pool of read-only connections, each on a
// WAL snapshot; the newest stream entries are also kept in memory for the consumers that
// poll the stream after every commit (see streamTail). Write functions read resources
// through the writer's cache of what it last read or wrote (rowcache.go), and the stream
// entries of calls and resource changes name the row holding their document (streamPayload).
//
// Durability: journal_mode=WAL with synchronous=NORMAL writes every committed transaction into
// the WAL file (write(2) into the OS page cache) before COMMIT returns, so once Update returns
// nil the data survives the process being killed (kill -9, a panic, OOM): the OS still holds
// the pages and SQLite recovers the WAL at the next open. What NORMAL does not survive is the
// loss of the OS itself (power cut, kernel panic) before the WAL is synced at a checkpoint;
// Options.Synchronous "FULL" syncs the WAL at every commit for that, at a cost in latency.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/bannin/bannin/internal/store"
)

// FileName is the database file inside the data directory.
const FileName = "bannin.db"

// Options configure a Store. The zero value is usable.
type Options struct {
	// ReadConns is the size of the read connection pool (default 4).
	ReadConns int
	// MaxBatch bounds how many Updates share one transaction (default 512).
	MaxBatch int
	// Synchronous is the SQLite synchronous mode: "NORMAL" (default; durable against process
	// crashes) or "FULL" (durable against OS crashes and power loss too).
	Synchronous string
	// CacheMiB is the page cache of the write connection in MiB (default 64); each read
	// connection gets a quarter of it.
	CacheMiB int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives background errors (default slog.Default()).
	Logger *slog.Logger
}

// Store is the SQLite store.Store.
type Store struct {
	path string
	now  func() time.Time

	wdb   *sql.DB
	wconn *sql.Conn
	// wstmts caches prepared statements of the write connection; only the writer goroutine
	// touches it.
	wstmts map[string]*sql.Stmt

	rdb    *sql.DB
	rstmts sync.Map // string -> *sql.Stmt prepared on rdb
	// rfilling holds the queries being prepared for rstmts; rfill waits for those goroutines.
	rfilling sync.Map
	rfill    sync.WaitGroup

	maxBatch int
	reqs     chan *request
	// mu guards closed; Update holds it shared while it enqueues so Close can close reqs.
	mu         sync.RWMutex
	closed     bool
	closeOnce  sync.Once
	closeErr   error
	writerDone chan struct{}

	// The checkpointer copies committed WAL pages into the database file in the background,
	// so that neither the copy nor its fsync sits on a commit's path.
	cdb    *sql.DB
	cpKick chan struct{}
	cpStop chan struct{}
	cpDone chan struct{}
	log    *slog.Logger

	changedMu sync.Mutex
	changed   chan struct{}

	// tags caches decoded tags columns (see tagCache).
	tags tagCache

	// live is the writer's resource cache (see rowcache.go; writer goroutine only).
	live map[resKey]*store.Resource
	// dataVersion is the write connection's data_version at the last foreign-append check
	// (writer goroutine only).
	dataVersion int64

	// tail holds the newest committed stream entries for ReadStream (see streamTail);
	// streamLast is the newest Seq the writer knows of (writer goroutine only).
	tail       streamTail
	streamLast int64
	// unindexed counts the events committed since the writer last indexed the tail, and
	// fresh holds them while they are few enough (writer goroutine only; see postings.go).
	unindexed int
	fresh     []indexedRow

	batches, updates atomic.Int64
	// walFrames is the WAL size in frames seen by the last checkpoint; walLimit is
	// walLimitFrames (tests lower it).
	walFrames atomic.Int64
	walLimit  int64
	// walCaughtUp is set by a background checkpoint that copied all but walCatchUpFrames of
	// a large WAL (see catchUp).
	walCaughtUp atomic.Bool
	// walLeft is what that checkpoint left to copy; lastBulk is set when the writer's last
	// transaction appended events in bulk (AppendEvents; writer goroutine only).
	walLeft  atomic.Int64
	lastBulk bool
}

// walLimitFrames bounds the WAL: when background checkpoints fall behind sustained writing
// (bulk imports), the writer checkpoints itself past this size, which holds writes back to the
// pace at which the database file can take them.
const walLimitFrames = 1 << 16 // 256 MiB of 4 KiB pages

// maxMmap is the read connections' mmap_size: SQLite's own upper bound (SQLITE_MAX_MMAP_SIZE),
// so that lookups read the pages of a large history without a system call each.
const maxMmap = 0x7fff0000

// Stats counts the writer's work since Open.
type Stats struct {
	Batches int64 // transactions committed or rolled back by the writer
	Updates int64 // Update functions run
}

// Stats returns the writer's counters; Updates/Batches is the average group-commit size.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Updates: s.updates.Load()}
}

var _ store.Store = (*Store)(nil)

type request struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// Open opens (creating if needed) the store in dir, runs pending migrations and starts the
// writer goroutine.
func Open(dir string, opts Options) (*Store, error) {
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.CacheMiB <= 0 {
		opts.CacheMiB = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch opts.Synchronous {
	case "":
		opts.Synchronous = "NORMAL"
	case "NORMAL", "FULL":
	default:
		return nil, fmt.Errorf("store: open: synchronous %q: want NORMAL or FULL", opts.Synchronous)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	path := filepath.Join(dir, FileName)
	s := &Store{
		path:       path,
		now:        opts.Now,
		wstmts:     map[string]*sql.Stmt{},
		maxBatch:   opts.MaxBatch,
		live:       map[resKey]*store.Resource{},
		reqs:       make(chan *request, opts.MaxBatch),
		writerDone: make(chan struct{}),
		changed:    make(chan struct{}),
		cpKick:     make(chan struct{}, 1),
		cpStop:     make(chan struct{}),
		cpDone:     make(chan struct{}),
		log:        opts.Logger,
		walLimit:   walLimitFrames,
	}
	s.tail.maxEntries, s.tail.maxBytes = tailMaxEntries, tailMaxBytes

	wdsn := fmt.Sprintf("file:%s?_busy_timeout=10000&_journal_mode=WAL&_synchronous=%s&_pragma=cache_size(%d)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)",
		path, opts.Synchronous, -opts.CacheMiB*1024)
	wdb, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	ctx := context.Background()
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.wdb, s.wconn = wdb, wconn
	if err := migrate(ctx, wconn, s.now()); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	if err := wconn.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM stream").Scan(&s.tail.floor); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: stream head: %w", path, err)
	}
	s.streamLast = s.tail.floor
	// Events committed but not indexed before the last stop (or before migration 0003).
	if err := s.indexTail(); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	rdsn := fmt.Sprintf("file:%s?_busy_timeout=10000&_query_only=1&_pragma=cache_size(%d)&_pragma=mmap_size(%d)",
		path, -opts.CacheMiB*1024/4, maxMmap)
	rdb, err := sql.Open("sqlite", rdsn)
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.ReadConns)
	rdb.SetMaxIdleConns(opts.ReadConns)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	s.rdb = rdb
	cdb, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_busy_timeout=10000&_synchronous=%s", path, opts.Synchronous))
	if err != nil {
		rdb.Close()
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	s.cdb = cdb

	go s.writer()
	go s.checkpointer()
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Changed returns a channel that is closed at the next commit that appends stream entries.
// Take the channel before reading the stream, then wait on it when nothing new was found: an
// append committed in between closes it, so no wake-up is lost.
func (s *Store) Changed() <-chan struct{} {
	s.changedMu.Lock()
	defer s.changedMu.Unlock()
	return s.changed
}

func (s *Store) notifyChanged() {
	s.changedMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.changedMu.Unlock()
}

// Update runs fn in a write transaction shared with other queued callers; see store.Store.
// Once the request is queued, Update waits for the writer's answer even if ctx ends, so that
// its result always tells whether fn's writes committed (the writer skips requests whose ctx
// has ended before their turn).
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("store: update: %w", store.ErrClosed)
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	return <-r.done
}

// View runs fn on a read snapshot taken by a connection of the read pool.
func (s *Store) View(ctx context.Context, fn func(tx store.ReadTx) error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("store: view: %w", store.ErrClosed)
	}
	// The read transaction (a connection of the pool) is taken at the first statement: a View
	// answered from the stream tail alone needs none.
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	vctx := ctx
	rt := &rtx{s: s, tail: true, tailHead: -1}
	rt.stmt = func(ctx context.Context, q string) (*sql.Stmt, error) {
		// From the first statement on, this View has a snapshot that the tail may be newer than.
		rt.tail = false
		if tx == nil {
			var err error
			if tx, err = s.rdb.BeginTx(vctx, &sql.TxOptions{ReadOnly: true}); err != nil {
				tx = nil
				return nil, fmt.Errorf("begin: %w", err)
			}
		}
		if v, ok := s.rstmts.Load(q); ok {
			return tx.StmtContext(ctx, v.(*sql.Stmt)), nil
		}
		// Preparing on the pool would wait for a free connection while this one is held: with
		// every connection in a View doing the same, none would ever come. Prepare on the
		// transaction's own connection, and cache a pool statement in the background.
		s.cacheReadStmt(q)
		ps, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		return ps, nil
	}
	return fn(rt)
}

// cacheReadStmt prepares q on the read pool, once, without holding a connection meanwhile.
func (s *Store) cacheReadStmt(q string) {
	if _, busy := s.rfilling.LoadOrStore(q, true); busy {
		return
	}
	s.rfill.Add(1)
	go func() {
		defer s.rfill.Done()
		ps, err := s.rdb.PrepareContext(context.Background(), q)
		if err != nil {
			s.rfilling.Delete(q) // the store is closing, or the query is bad: the caller saw that
			return
		}
		if _, loaded := s.rstmts.LoadOrStore(q, ps); loaded {
			ps.Close()
		}
	}()
}

// Close stops accepting Updates, waits until the queued ones have committed and closes the
// database. Views still running are waited for by the read pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.reqs)
		s.mu.Unlock()
		<-s.writerDone
		close(s.cpStop)
		<-s.cpDone
		var errs []error
		for _, st := range s.wstmts {
			errs = append(errs, st.Close())
		}
		// A final checkpoint folds the WAL into the database file, so a closed store is one file.
		if _, err := s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		errs = append(errs, s.wconn.Close(), s.wdb.Close())
		s.rstmts.Range(func(_, v any) bool {
			errs = append(errs, v.(*sql.Stmt).Close())
			return true
		})
		errs = append(errs, s.rdb.Close(), s.cdb.Close())
		s.rfill.Wait() // statements still being prepared fail now that the pool is closed
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return s.closeErr
}

// writer is the only goroutine that writes. It ends when Close has closed reqs and every
// queued request has been answered.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*request, 0, s.maxBatch)
	errs := make([]error, 0, s.maxBatch)
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		// Everything queued now belongs to this batch; what comes while it runs may join it.
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		batch, errs = s.runBatch(batch, errs[:0])
		for i, r := range batch {
			r.done <- errs[i]
			batch[i] = nil
		}
		if s.unindexed >= indexEvery {
			if err := s.indexTail(); err != nil {
				s.log.Error("store: index events", "path", s.path, "err", err)
			}
		}
		s.bound()
		s.catchUp()
	}
}

// joinWindow bounds how long a transaction keeps taking in Updates that were queued while it
// ran: requests that arrive during a batch share its commit instead of paying for one of
// their own, but the first caller of a batch waits at most about this long for the others.
const joinWindow = 2 * time.Millisecond

// join takes one more queued request into the running batch, if there is one, the batch has
// room and it has not run for joinWindow yet.
func (s *Store) join(batch []*request, errs []error, began time.Time) ([]*request, []error, bool) {
	if len(batch) >= s.maxBatch || time.Since(began) > joinWindow {
		return batch, errs, false
	}
	select {
	case r, ok := <-s.reqs:
		if !ok {
			return batch, errs, false
		}
		return append(batch, r), append(errs, nil), true
	default:
		return batch, errs, false
	}
}

// wexec runs a statement on the write connection. Writer statements never see a cancellable
// context: sqlite3_interrupt of an INSERT, UPDATE or DELETE inside an explicit transaction
// rolls back the whole transaction, which would take the other callers' writes with it.
func (s *Store) wexec(q string, args ...any) (sql.Result, error) {
	st, err := s.writeStmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (s *Store) writeStmt(q string) (*sql.Stmt, error) {
	if st, ok := s.wstmts[q]; ok {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.wstmts[q] = st
	return st, nil
}

// runBatch runs the requests of one batch in one transaction, taking in more that are queued
// meanwhile (see join), and returns the batch and each request's answer.
func (s *Store) runBatch(batch []*request, errs []error) ([]*request, []error) {
	for range batch {
		errs = append(errs, nil)
	}
	began := time.Now()
	s.batches.Add(1)
	defer func() { s.updates.Add(int64(len(batch))) }()
	fail := func(err error) ([]*request, []error) {
		s.wconn.ExecContext(context.Background(), "ROLLBACK")
		clear(s.live) // it may hold what this transaction read or wrote
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return batch, errs
	}
	if _, err := s.wexec("BEGIN IMMEDIATE"); err != nil {
		return fail(fmt.Errorf("store: update: begin: %w", err))
	}
	if err := s.checkForeignAppends(); err != nil {
		return fail(fmt.Errorf("store: update: %w", err))
	}
	appended, bulk := false, false
	var pending []pendingEntry
	var trimTo int64
	var fresh []indexedRow
	wrote := false // a function of this transaction has succeeded
	for i := 0; ; i++ {
		if i == len(batch) {
			var more bool
			if batch, errs, more = s.join(batch, errs, began); !more {
				break
			}
		}
		r := batch[i]
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		// The first function of a transaction needs no savepoint: if it fails, rolling back
		// the whole transaction undoes exactly its writes.
		alone := !wrote
		if !alone {
			if _, err := s.wexec("SAVEPOINT u"); err != nil {
				return fail(fmt.Errorf("store: update: savepoint: %w", err))
			}
		}
		t := &wtx{rtx: rtx{s: s, write: true, stmt: s.writeStmtCtx}}
		err := t.run(r.fn)
		t.done = true
		switch {
		case err != nil && alone:
			errs[i] = err
			if _, rerr := s.wexec("ROLLBACK"); rerr != nil {
				return fail(fmt.Errorf("store: update: roll back after %v: %w", err, rerr))
			}
			if _, rerr := s.wexec("BEGIN IMMEDIATE"); rerr != nil {
				return fail(fmt.Errorf("store: update: begin: %w", rerr))
			}
			if rerr := s.checkForeignAppends(); rerr != nil { // another process may have committed meanwhile
				return fail(fmt.Errorf("store: update: %w", rerr))
			}
		case err != nil:
			errs[i] = err
			if _, rerr := s.wexec("ROLLBACK TO u"); rerr != nil {
				return fail(fmt.Errorf("store: update: roll back to savepoint after %v: %w", err, rerr))
			}
			fallthrough
		case !alone:
			if _, err := s.wexec("RELEASE u"); err != nil {
				return fail(fmt.Errorf("store: update: release savepoint: %w", err))
			}
		}
		if errs[i] == nil {
			wrote = true
			appended = appended || t.appended
			bulk = bulk || t.bulk
			pending = append(pending, t.pending...)
			trimTo = max(trimTo, t.trimTo)
			fresh = append(fresh, t.fresh...)
			s.keep(t.touched)
		}
	}
	if _, err := s.wexec("COMMIT"); err != nil {
		return fail(fmt.Errorf("store: update: commit: %w", err))
	}
	s.lastBulk = bulk
	s.unindexed += len(fresh)
	if s.fresh = append(s.fresh, fresh...); len(s.fresh) > indexChunk {
		s.fresh = nil // read back instead (tailRows)
	}
	// Published before the wake-up, so that a woken consumer finds the entries in the tail.
	s.tail.publish(pending, trimTo)
	for _, e := range pending {
		s.streamLast = max(s.streamLast, e.Seq)
	}
	if appended {
		s.notifyChanged()
	}
	select {
	case s.cpKick <- struct{}{}:
	default:
	}
	return batch, errs
}

// checkForeignAppends empties the stream tail if the stream holds entries this Store did
// not append (another process wrote to the data dir); it runs inside the writer's
// transaction, so nothing can append between the check and this transaction's own entries.
// SQLite's data_version of the writer's connection changes only when another connection
// commits (the readers cannot), so the stream is read only then.
func (s *Store) checkForeignAppends() error {
	st, err := s.writeStmt("PRAGMA data_version")
	if err != nil {
		return err
	}
	var v int64
	if err := st.QueryRowContext(context.Background()).Scan(&v); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	if v == s.dataVersion {
		return nil
	}
	s.dataVersion = v
	clear(s.live) // another connection may have changed resources
	if st, err = s.writeStmt("SELECT COALESCE(MAX(seq), 0) FROM stream"); err != nil {
		return err
	}
	var head int64
	if err := st.QueryRowContext(context.Background()).Scan(&head); err != nil {
		return fmt.Errorf("stream head: %w", err)
	}
	if head > s.streamLast {
		s.log.Warn("store: stream entries appended by another process; consumers read them from the database", "path", s.path, "seq", head)
		s.tail.reset(head)
		s.streamLast = head
	}
	return nil
}

// checkpointer runs PASSIVE checkpoints after commits, at most every checkpointEvery. A
// PASSIVE checkpoint never blocks the writer or readers. Frequent small checkpoints often
// finish between two commits, and then the next transaction starts the WAL over by itself
// (see catchUp for when it does not).
func (s *Store) checkpointer() {
	defer close(s.cpDone)
	const checkpointEvery = 10 * time.Millisecond
	ctx := context.Background()
	for {
		select {
		case <-s.cpStop:
			return
		case <-s.cpKick:
		}
		s.checkpointOnce(ctx)
		select {
		case <-s.cpStop:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// checkpointOnce runs one PASSIVE checkpoint and records the WAL size.
func (s *Store) checkpointOnce(ctx context.Context) {
	var busy, frames, done int64
	if err := s.cdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		s.log.Error("store: checkpoint", "path", s.path, "err", err)
		return
	}
	s.walFrames.Store(frames)
	if frames >= walResetFrames && frames-done <= walCatchUpFrames {
		s.walLeft.Store(frames - done)
		s.walCaughtUp.Store(true)
	}
}

// walResetFrames is the WAL size from which the writer helps it start over (see catchUp),
// once a background checkpoint has left at most walCatchUpFrames: under steady writing one
// seldom finishes between two commits.
const (
	walResetFrames   = 8192 // 32 MiB of 4 KiB pages
	walCatchUpFrames = 512
)

// catchUp lets the WAL start over without blocking anyone for long. SQLite rewinds the WAL
// only when a write transaction begins with every frame already copied into the database
// file; under steady writing the background checkpoint never finishes before the next
// commit, so the WAL grew until bound's RESTART (which holds all writes while it copies
// hundreds of megabytes: 100 ms stalls every few seconds at 3,000 calls/s). Once a
// background checkpoint has caught up (all but walCatchUpFrames), the writer, between two
// transactions, copies the few frames left and committed since (a PASSIVE checkpoint on its
// own connection), so that its next transaction can rewind the WAL. Its cost grows with the
// WAL's size, not only with the frames it copies (4 ms at 2,000 frames, 10-17 ms at 16,000, measured at 5,000 calls/s),
// and every catch-up holds all writes: hence checkpoints every 10 ms, which keep the WAL
// small and let it start over on its own most of the time, and a catch-up only past
// walResetFrames (1-3 ms, a few times a second at 5,000 calls/s).
func (s *Store) catchUp() {
	if !s.walCaughtUp.Swap(false) {
		return
	}
	// After a bulk transaction (an import's batch) the catch-up would copy and sync all of
	// it, which made imports three times slower: only a complete background checkpoint will do.
	if s.lastBulk && s.walLeft.Load() > 0 {
		return
	}
	var busy, frames, done int64
	if err := s.wconn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		s.log.Error("store: checkpoint", "path", s.path, "err", err)
	}
}

// bound runs a RESTART checkpoint on the writer's connection when the WAL has outgrown
// walLimitFrames, so that the next transaction starts the WAL over.
func (s *Store) bound() {
	if s.walFrames.Load() <= s.walLimit {
		return
	}
	var busy, frames, done int64
	if err := s.wconn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done); err != nil {
		s.log.Error("store: checkpoint", "path", s.path, "err", err)
		return
	}
	if busy == 0 {
		s.walFrames.Store(0)
	}
}

func (s *Store) writeStmtCtx(_ context.Context, q string) (*sql.Stmt, error) { return s.writeStmt(q) }
