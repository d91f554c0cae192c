// Package stream runs the consumers of the store's durable ordered stream: trail delivery,
// event bus rules, config rule evaluation, log delivery, alarms, notifications, remediation.
//
// Each consumer has a name and a checkpoint (the Seq of the last entry it has finished). The
// runner reads entries after the checkpoint, hands the ones of the consumer's kinds to Handle,
// and commits the checkpoint only after Handle succeeds: delivery is at-least-once, in Seq
// order, and a consumer must be idempotent (an entry can come again after a crash between
// Handle and the checkpoint commit, or after Handle failed). A failed Handle is retried with
// the same entries after a backoff. Consumers are woken as soon as an Update commits new
// entries; a slow poll is only a fallback.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// Consumer is one reader of the stream.
type Consumer struct {
	// Name identifies the consumer's checkpoint; it must be unique and stable across restarts.
	Name string
	// Kinds are the entry kinds handed to Handle; empty means every kind. Entries of other
	// kinds are skipped (and checkpointed past).
	Kinds []string
	// Handle processes entries in Seq order. An error (or panic) means none of them counts as
	// done: the same entries come again after a backoff.
	Handle func(ctx context.Context, entries []store.Entry) error
	// Batch bounds the entries read at a time (default 100); Handle gets at most that many.
	Batch int
	// FromNow makes a consumer that has no checkpoint yet start after the newest entry instead
	// of at the beginning of the stream.
	FromNow bool
}

// Notifier is implemented by stores that can say when new entries commit
// (*sqlite.Store.Changed): the returned channel is closed at the next such commit.
type Notifier interface {
	Changed() <-chan struct{}
}

// Options configure a Runner.
type Options struct {
	// Store holds the stream and the checkpoints.
	Store store.Store
	// Changed wakes consumers when new entries commit. When nil, the Store's Changed method is
	// used if it has one (see Notifier); without either, consumers only poll.
	Changed func() <-chan struct{}
	// Poll is the fallback interval at which idle consumers look for entries (default 5s).
	Poll time.Duration
	// Backoff is the first retry delay after a failure (default 100ms); it doubles up to
	// MaxBackoff (default 30s).
	Backoff, MaxBackoff time.Duration
	// Logger receives consumer failures (default slog.Default()).
	Logger *slog.Logger
	// Linger is the shortest time between two reads of the stream by a consumer (default
	// 5ms; negative: none). Under sustained writes a consumer then wakes once per Linger
	// instead of at every commit and takes many entries at a time, so that its per-batch
	// work (the read, the checkpoint's transaction on the store's single writer) is shared;
	// a consumer that has not read for Linger answers at once.
	Linger time.Duration
	// TrimEvery is how often the entries every consumer is past are deleted (default 10s;
	// negative: never).
	TrimEvery time.Duration
	// TrimBatch bounds the entries one trimming transaction deletes (default 1,000), so
	// that a large backlog (a million entries after a burst) is deleted in steps that other
	// writers interleave with, not in one transaction that holds the store's writer for
	// seconds: every step holds the writer (about 1 µs per entry), and each caller waiting
	// behind it feels that in its latency.
	TrimBatch int64
}

// Runner runs consumers, one goroutine each.
type Runner struct {
	opts      Options
	consumers []Consumer
}

// NewRunner checks the consumers and returns a Runner for them.
func NewRunner(opts Options, consumers ...Consumer) (*Runner, error) {
	if opts.Store == nil {
		return nil, errors.New("stream: runner needs a store")
	}
	if opts.Changed == nil {
		if n, ok := opts.Store.(Notifier); ok {
			opts.Changed = n.Changed
		}
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.Backoff {
		opts.MaxBackoff = max(30*time.Second, opts.Backoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Linger == 0 {
		opts.Linger = 5 * time.Millisecond
	}
	if opts.TrimBatch <= 0 {
		opts.TrimBatch = 1_000
	}
	if opts.TrimEvery == 0 {
		opts.TrimEvery = 10 * time.Second
	}
	seen := map[string]bool{}
	for i, c := range consumers {
		if c.Name == "" || c.Handle == nil {
			return nil, fmt.Errorf("stream: consumer %d: name and Handle are required", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("stream: consumer %q registered twice", c.Name)
		}
		seen[c.Name] = true
		if c.Batch <= 0 {
			consumers[i].Batch = 100
		}
	}
	return &Runner{opts: opts, consumers: slices.Clone(consumers)}, nil
}

// Run runs every consumer until ctx is done, then returns nil. Store errors and Handle
// failures are logged and retried; they do not stop the runner.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if r.opts.TrimEvery > 0 && len(r.consumers) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.trimLoop(ctx)
		}()
	}
	for _, c := range r.consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.consume(ctx, c)
		}()
	}
	wg.Wait()
	return nil
}

// trimLoop deletes, every TrimEvery, the entries that every consumer has finished.
func (r *Runner) trimLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.TrimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Trim(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Error("stream: trim", "err", err)
		}
	}
}

// Trim deletes the entries that every consumer of the runner has finished and returns how
// many it deleted.
func (r *Runner) Trim(ctx context.Context) (int64, error) {
	var upTo int64 = -1
	err := r.opts.Store.View(ctx, func(tx store.ReadTx) error {
		for _, c := range r.consumers {
			pos, err := tx.Checkpoint(ctx, c.Name)
			if err != nil {
				return err
			}
			if upTo < 0 || pos < upTo {
				upTo = pos
			}
		}
		return nil
	})
	if err != nil || upTo <= 0 {
		return 0, err
	}
	// Step from the oldest entry left; sequence numbers are dense but for rolled-back
	// appends, so a step deletes at most TrimBatch entries.
	var first int64
	err = r.opts.Store.View(ctx, func(tx store.ReadTx) error {
		es, err := tx.ReadStream(ctx, 0, 1)
		if len(es) > 0 {
			first = es[0].Seq
		}
		return err
	})
	if err != nil || first == 0 || first > upTo {
		return 0, err
	}
	var total int64
	for to := first - 1; to < upTo && ctx.Err() == nil; {
		if to >= first {
			// Paced: each step holds the store's writer, and the calls queued behind it wait;
			// steps back to back would hold it for a burst (a second at 5,000 calls/s).
			sleep(ctx, trimPause)
		}
		to = min(to+r.opts.TrimBatch, upTo)
		var n int64
		err := r.opts.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.TrimStream(ctx, to)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, ctx.Err()
}

// changed returns the wake-up channel for the next commit, or nil (never ready) without one.
func (r *Runner) changed() <-chan struct{} {
	if r.opts.Changed == nil {
		return nil
	}
	return r.opts.Changed()
}

// consume is one consumer's loop.
func (r *Runner) consume(ctx context.Context, c Consumer) {
	log := r.opts.Logger.With("consumer", c.Name)
	backoff := r.opts.Backoff
	// fail logs err and waits out the backoff; it reports false when ctx ended meanwhile.
	fail := func(msg string, err error) bool {
		log.Error("stream: "+msg, "err", err, "retry_in", backoff)
		ok := sleep(ctx, backoff)
		backoff = min(2*backoff, r.opts.MaxBackoff)
		return ok
	}

	var pos int64
	for {
		var err error
		if pos, err = r.start(ctx, c); err == nil {
			break
		}
		if ctx.Err() != nil || !fail("read checkpoint", err) {
			return
		}
	}
	// A consumer that only skips entries of other kinds has nothing to lose by checkpointing
	// late: its position is committed at most every checkpointEvery, not after every commit
	// (a dozen consumers doing so would double the writer's transactions).
	saved := pos
	lastSave := time.Now()
	save := func() bool {
		target := pos
		err := r.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.SetCheckpoint(ctx, c.Name, target) })
		if err != nil {
			// The entries were handled; they will be handled again (at-least-once).
			if ctx.Err() != nil || !fail("commit checkpoint", err) {
				return false
			}
			return true
		}
		saved, lastSave = target, time.Now()
		backoff = r.opts.Backoff
		return true
	}
	var read time.Time // when the stream was last read
	for ctx.Err() == nil {
		if d := r.opts.Linger - time.Since(read); d > 0 {
			sleep(ctx, d)
		}
		// Take the wake-up channel before reading, so that a commit between the read and the
		// wait still wakes us.
		wake := r.changed()
		var sel []store.Entry
		last := pos
		err := r.opts.Store.View(ctx, func(tx store.ReadTx) error {
			if len(c.Kinds) > 0 {
				var err error
				sel, last, err = tx.ReadStreamKinds(ctx, pos, c.Batch, c.Kinds)
				return err
			}
			es, err := tx.ReadStream(ctx, pos, c.Batch)
			if len(es) > 0 {
				sel, last = es, es[len(es)-1].Seq
			}
			return err
		})
		read = time.Now()
		if err != nil {
			if ctx.Err() != nil || !fail("read stream", err) {
				return
			}
			continue
		}
		if last == pos {
			wait := r.opts.Poll
			if saved != pos {
				if due := checkpointEvery - time.Since(lastSave); due <= 0 {
					if !save() {
						return
					}
					continue
				} else if due < wait {
					wait = due
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if len(sel) > 0 {
			if err := handle(ctx, c, sel); err != nil {
				if ctx.Err() != nil || !fail("handle", err) {
					return
				}
				continue
			}
		}
		pos = last
		if len(sel) > 0 || time.Since(lastSave) >= checkpointEvery {
			if !save() {
				return
			}
		}
	}
}

// sleep waits d; it reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// trimPause is the pause between two steps of a trim: a step of TrimBatch entries holds the
// writer for about a millisecond, so trimming takes at most about a fifth of its time.
const trimPause = 5 * time.Millisecond

// checkpointEvery bounds how long a consumer that only skips entries keeps its position
// uncommitted.
const checkpointEvery = time.Second

// fromNowBucket marks, in the store's key-value space, the FromNow consumers that have taken
// their starting position (a checkpoint of 0 alone cannot tell "started at an empty stream"
// from "never started").
const fromNowBucket = "stream.from-now"

// start returns the position a consumer resumes from. A FromNow consumer's first start
// commits the stream head as its checkpoint, so that a restart does not skip what came in
// between.
func (r *Runner) start(ctx context.Context, c Consumer) (int64, error) {
	var pos int64
	fresh := false
	err := r.opts.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		if pos, err = tx.Checkpoint(ctx, c.Name); err != nil || pos != 0 || !c.FromNow {
			return err
		}
		mark, err := tx.Get(ctx, fromNowBucket, c.Name)
		if err != nil || mark != nil {
			return err
		}
		fresh = true
		pos, err = tx.StreamHead(ctx)
		return err
	})
	if err != nil || !fresh {
		return pos, err
	}
	err = r.opts.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, fromNowBucket, c.Name, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
			return err
		}
		return tx.SetCheckpoint(ctx, c.Name, pos)
	})
	return pos, err
}

// handle calls c.Handle, turning a panic into an error so that one consumer's bug neither
// kills the process nor advances its checkpoint.
func handle(ctx context.Context, c Consumer, es []store.Entry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("stream: consumer %s panicked: %v\n%s", c.Name, p, debug.Stack())
		}
	}()
	return c.Handle(ctx, es)
}
