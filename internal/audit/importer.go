package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/bannin/bannin/internal/store"
)

// ImportOptions configure an import of CloudTrail log files.
type ImportOptions struct {
	Store store.Store
	// BatchSize is how many events are committed at once (default 10000: each commit rewrites
	// the index pages it touched, and the random-order event ID index touches most of its
	// pages in every batch of a few thousand; larger batches write less but hold more memory).
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
		opts.BatchSize = 10000
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
	// Files are parsed on parseWorkers goroutines, in order, into whole batches while the
	// previous batch is written, so parsing and writing overlap; at most two batches and
	// 2*parseWorkers parsed files wait in memory (one batch is written while the next fills).
	type chunk struct {
		files     int
		bytes     int64
		evs       []*store.Event
		malformed []FileError
	}
	type parsed struct {
		size int64
		evs  []*store.Event
		err  error
	}
	type job struct {
		path string
		out  chan parsed
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	order := make(chan job, 2*parseWorkers)
	for range parseWorkers {
		go func() {
			rp := new(recordParser)
			for j := range jobs {
				var p parsed
				p.evs, p.size, p.err = rp.readLogFile(j.path)
				j.out <- p
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for _, f := range files {
			j := job{path: f, out: make(chan parsed, 1)}
			select {
			case order <- j:
			case <-pctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-pctx.Done():
				return
			}
		}
	}()
	chunks := make(chan chunk)
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
		for j := range order {
			var p parsed
			select {
			case p = <-j.out:
			case <-pctx.Done():
				return
			}
			c.evs = append(c.evs, p.evs...)
			c.files++
			c.bytes += p.size
			if p.err != nil {
				c.malformed = append(c.malformed, FileError{Path: j.path, Err: p.err})
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

// parseWorkers is how many goroutines parse log files during an import.
const parseWorkers = 2

var gzipReaders sync.Pool // *gzip.Reader

// readLogFile decodes one {"Records":[...]} file, plain or gzipped, with a new recordParser.
func readLogFile(path string, emit func(*store.Event)) (int64, error) {
	evs, size, err := new(recordParser).readLogFile(path)
	for _, ev := range evs {
		emit(ev)
	}
	return size, err
}

// readLogFile decodes one {"Records":[...]} file, plain or gzipped. A file is taken
// whole or not at all: the first bad record rejects it, with the record's position.
//
// The file is read whole and each record parsed in place by the recordParser, which also
// finds where it ends; the event keeps its record as a slice of the file's bytes. A record
// the recordParser leaves alone is delimited by a scanner that only finds where each value
// ends and decoded by parseRecordJSON, which gives the error if it is malformed.
func (p *recordParser) readLogFile(path string) ([]*store.Event, int64, error) {
	raw, err := p.readFile(path)
	if err != nil {
		return nil, 0, err
	}
	size := int64(len(raw))
	data := raw
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		data, err = gunzip(raw)
		p.file = raw[:0] // the compressed bytes are not kept: read the next file into them
		if err != nil {
			return nil, size, fmt.Errorf("gzip: %w", err)
		}
	}
	evs := p.fileEvs[:0]
	defer func() {
		clear(evs)
		p.fileEvs = evs[:0]
	}()
	found := false
	sc := scanner{b: data}
	sc.ws()
	if !sc.eat('{') {
		return nil, size, fmt.Errorf("not a CloudTrail log file: %w", sc.errorf("expected '{'"))
	}
	sc.ws()
	if !sc.eat('}') {
		for {
			sc.ws()
			key, err := sc.key()
			if err != nil {
				return nil, size, fmt.Errorf("not a CloudTrail log file: %w", err)
			}
			sc.ws()
			if !sc.eat(':') {
				return nil, size, sc.errorf("expected ':' after object key")
			}
			sc.ws()
			if key != "Records" {
				v, err := sc.value()
				if err != nil {
					return nil, size, err
				}
				if !json.Valid(v) {
					return nil, size, fmt.Errorf("%q: invalid JSON value", key)
				}
			} else {
				found = true
				if !sc.eat('[') {
					return nil, size, fmt.Errorf("Records: %w", sc.errorf("expected '['"))
				}
				sc.ws()
				if !sc.eat(']') {
					for i := 0; ; i++ {
						sc.ws()
						ev, end, ok := p.parse(sc.b, sc.i)
						if ok {
							sc.i = end
						} else {
							v, err := sc.value()
							if err != nil {
								return nil, size, fmt.Errorf("record %d: %w", i+1, err)
							}
							if ev, err = parseRecordJSON(json.RawMessage(v)); err != nil {
								return nil, size, fmt.Errorf("record %d: %w", i+1, err)
							}
						}
						evs = append(evs, ev)
						sc.ws()
						if sc.eat(']') {
							break
						}
						if !sc.eat(',') {
							return nil, size, fmt.Errorf("record %d: %w", i+1, sc.errorf("expected ',' or ']' after a record"))
						}
					}
				}
			}
			sc.ws()
			if sc.eat('}') {
				break
			}
			if !sc.eat(',') {
				return nil, size, sc.errorf("expected ',' or '}' after an object value")
			}
		}
	}
	sc.ws()
	if sc.i != len(sc.b) {
		return nil, size, sc.errorf("data after the top-level object")
	}
	if !found {
		return nil, size, errors.New(`not a CloudTrail log file: no "Records" array`)
	}
	return slices.Clone(evs), size, nil
}

// readFile reads a whole file into p.file, which it grows as needed. The caller owns the
// bytes it returns until it gives them back by setting p.file (gzipped files are, since only
// their decompressed bytes are kept).
func (p *recordParser) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := p.file[:0]
	p.file = nil
	if info, err := f.Stat(); err == nil && int64(cap(buf)) < info.Size()+1 {
		buf = make([]byte, 0, info.Size()+512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// gunzip decompresses a whole gzip file (all members) with a pooled reader. The output is
// sized by the gzip trailer (the last member's length), so the buffer that events' records
// point into wastes no capacity for the usual single-member file.
func gunzip(b []byte) ([]byte, error) {
	br := bytes.NewReader(b)
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(br)
	} else {
		err = zr.Reset(br)
	}
	if err != nil {
		return nil, err
	}
	defer gzipReaders.Put(zr)
	n := 8 * len(b)
	if len(b) >= 18 {
		if isize := int(binary.LittleEndian.Uint32(b[len(b)-4:])); isize < 64*len(b)+(1<<20) {
			n = isize
		}
	}
	out := make([]byte, 0, n+1)
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		m, err := zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+m]
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// scanner walks a JSON document far enough to find where values end; json.Valid or
// json.Unmarshal checks each value it returns.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) errorf(msg string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("%s at end of input", msg)
	}
	return fmt.Errorf("%s at offset %d, found %q", msg, s.i, s.b[s.i])
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key reads an object key (a JSON string) and returns it decoded.
func (s *scanner) key() (string, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", s.errorf("expected an object key")
	}
	v, err := s.value()
	if err != nil {
		return "", err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	var k string
	if err := json.Unmarshal(v, &k); err != nil {
		return "", fmt.Errorf("object key: %w", err)
	}
	return k, nil
}

// value returns the bytes of the value that starts at the current position (capacity
// capped, so that appending to it cannot overwrite what follows) and moves past it.
func (s *scanner) value() ([]byte, error) {
	start := s.i
	if s.i >= len(s.b) {
		return nil, s.errorf("expected a value")
	}
	switch s.b[s.i] {
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i:s.i], nil
				}
			case '"':
				if err := s.skipString(); err != nil {
					return nil, err
				}
				continue
			}
			s.i++
		}
		return nil, s.errorf("unterminated value")
	case '"':
		if err := s.skipString(); err != nil {
			return nil, err
		}
		return s.b[start:s.i:s.i], nil
	case ',', ':', '}', ']':
		return nil, s.errorf("expected a value")
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.b[start:s.i:s.i], nil
		}
		s.i++
	}
	return s.b[start:s.i:s.i], nil
}

// skipString moves past the string that starts at the current position.
func (s *scanner) skipString() error {
	s.i++ // opening quote
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return s.errorf("unterminated string")
		}
		q := s.i + j
		escaped := false
		for k := q - 1; k >= s.i && s.b[k] == '\\'; k-- {
			escaped = !escaped
		}
		s.i = q + 1
		if !escaped {
			return nil
		}
	}
}
