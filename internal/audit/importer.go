package audit

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

// ImportOptions configure an import of CloudTrail log files.
type ImportOptions struct {
	Store store.Store
	// BatchSize is how many events are committed at once (default 5000).
	BatchSize int
	// Progress, if set, is told after each batch how many files and events are done.
	Progress func(p ImportProgress)
	// Write stores a batch of events and returns how many were new (default: into the
	// event history, tx.AppendEvents). It must skip events it already holds.
	Write func(ctx context.Context, tx store.Tx, evs []*store.Event) (int, error)
}

// ImportProgress counts an import's work so far.
type ImportProgress struct {
	Files, FilesTotal int
	Bytes, BytesTotal int64
	Events, Inserted  int
}

// FileError is a log file that could not be read, and why.
type FileError struct {
	Path string
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// ImportSummary is what an import did.
type ImportSummary struct {
	ImportProgress
	// Duplicates are events already in the history (a re-import changes nothing).
	Duplicates int
	Malformed  []FileError
}

// LogFiles lists the CloudTrail log files under paths: files as given, directories
// walked for *.json and *.json.gz (the AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ layout included).
func LogFiles(paths []string) ([]string, int64, error) {
	var files []string
	var total int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if path != p && !strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".json.gz") {
				return nil
			}
			if strings.Contains(path, "CloudTrail-Digest") {
				return nil // digest files are not events
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, path)
			total += info.Size()
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("import: %w", err)
		}
	}
	sort.Strings(files)
	return files, total, nil
}

// Import loads CloudTrail log files into the event history. Events already there are
// skipped, so importing the same files twice changes nothing. A malformed file is
// reported in the summary and the rest still load; memory stays bounded by one batch.
func Import(ctx context.Context, paths []string, opts ImportOptions) (*ImportSummary, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.Write == nil {
		opts.Write = func(ctx context.Context, tx store.Tx, evs []*store.Event) (int, error) {
			return tx.AppendEvents(ctx, evs)
		}
	}
	files, total, err := LogFiles(paths)
	if err != nil {
		return nil, err
	}
	sum := &ImportSummary{}
	sum.FilesTotal, sum.BytesTotal = len(files), total
	var batch []*store.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var n int
		err := opts.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = opts.Write(ctx, tx, batch)
			return err
		})
		if err != nil {
			return fmt.Errorf("import: store: %w", err)
		}
		sum.Inserted += n
		sum.Duplicates += len(batch) - n
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(sum.ImportProgress)
		}
		return nil
	}
	// Files are parsed into whole batches on their own goroutine while the previous batch
	// is written, so parsing and writing overlap; at most two batches wait in memory.
	type chunk struct {
		files     int
		bytes     int64
		evs       []*store.Event
		malformed []FileError
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 1)
	go func() {
		defer close(chunks)
		var c chunk
		send := func() bool {
			select {
			case chunks <- c:
				c = chunk{}
				return true
			case <-pctx.Done():
				return false
			}
		}
		for _, f := range files {
			size, err := readLogFile(f, func(ev *store.Event) { c.evs = append(c.evs, ev) })
			c.files++
			c.bytes += size
			if err != nil {
				c.malformed = append(c.malformed, FileError{Path: f, Err: err})
			}
			if len(c.evs) >= opts.BatchSize && !send() {
				return
			}
		}
		send()
	}()
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		sum.Files += c.files
		sum.Bytes += c.bytes
		sum.Events += len(c.evs)
		sum.Malformed = append(sum.Malformed, c.malformed...)
		batch = c.evs
		if err := flush(); err != nil {
			return sum, err
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	if opts.Progress != nil {
		opts.Progress(sum.ImportProgress)
	}
	return sum, nil
}

// readLogFile decodes one {"Records":[...]} file, plain or gzipped. A file is taken
// whole or not at all: the first bad record rejects it, with the record's position.
func readLogFile(path string, emit func(*store.Event)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, _ := f.Stat()
	size := info.Size()
	br := bufio.NewReaderSize(f, 256<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return size, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return size, fmt.Errorf("not a CloudTrail log file: %w", err)
	}
	var evs []*store.Event
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return size, err
		}
		if tok != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return size, err
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return size, fmt.Errorf("Records: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return size, fmt.Errorf("record %d: %w", i+1, err)
			}
			ev, err := ParseRecord(raw)
			if err != nil {
				return size, fmt.Errorf("record %d: %w", i+1, err)
			}
			evs = append(evs, ev)
		}
		if _, err := dec.Token(); err != nil {
			return size, err
		}
	}
	if !found {
		return size, errors.New(`not a CloudTrail log file: no "Records" array`)
	}
	for _, ev := range evs {
		emit(ev)
	}
	return size, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}
