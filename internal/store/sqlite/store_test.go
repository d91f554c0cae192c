package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bannin/bannin/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t testing.TB, dir string) (*Store, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(dir, Options{Now: clk.Now})
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func update(t testing.TB, s *Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update = %v", err)
	}
}

func view(t testing.TB, s *Store, fn func(tx store.ReadTx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View = %v", err)
	}
}

func bucket(i int) *store.Resource {
	return &store.Resource{
		Account: "111111111111", Region: "us-east-1", Type: "AWS::S3::Bucket",
		ID: fmt.Sprintf("bucket-%03d", i), ARN: fmt.Sprintf("arn:aws:s3:::bucket-%03d", i), Name: fmt.Sprintf("bucket-%03d", i),
		Config: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)), Tags: map[string]string{"i": fmt.Sprint(i)},
	}
}

func TestUpdateConcurrent(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update(ctx, func(tx store.Tx) error {
				if err := tx.PutResource(ctx, bucket(i)); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, &store.Event{EventID: fmt.Sprintf("ev-%03d", i), Time: time.Unix(int64(1700000000+i), 0),
					Account: "111111111111", Region: "us-east-1", EventName: "CreateBucket", EventSource: "s3.amazonaws.com",
					Record: json.RawMessage(fmt.Sprintf(`{"eventID":"ev-%03d"}`, i))})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update = %v", err)
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		for i := range n {
			r, err := tx.GetResource(ctx, "111111111111", "us-east-1", "AWS::S3::Bucket", fmt.Sprintf("bucket-%03d", i))
			if err != nil {
				return err
			}
			if r == nil || string(r.Config) != fmt.Sprintf(`{"n": %d}`, i) || r.Version != 1 {
				t.Errorf("GetResource(bucket-%03d) = %+v; want version 1 with config n=%d", i, r, i)
			}
		}
		es, _, err := tx.LookupEvents(ctx, store.EventQuery{Account: "111111111111", Region: "us-east-1", Limit: 1000})
		if err != nil {
			return err
		}
		if len(es) != n {
			t.Errorf("LookupEvents = %d events; want %d", len(es), n)
		}
		entries, err := tx.ReadStream(ctx, 0, 1000)
		if err != nil {
			return err
		}
		if len(entries) != 2*n {
			t.Errorf("ReadStream = %d entries; want %d", len(entries), 2*n)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].Seq <= entries[i-1].Seq {
				t.Errorf("ReadStream seq %d after %d; want increasing", entries[i].Seq, entries[i-1].Seq)
			}
		}
		return nil
	})
	st := s.Stats()
	if st.Updates != n {
		t.Errorf("Stats().Updates = %d; want %d", st.Updates, n)
	}
	t.Logf("%d updates in %d batches", st.Updates, st.Batches)
}

// TestSavepointIsolation holds the writer on one Update while ten more queue up, so that the
// ten run in one batch; the one that fails must lose only its own writes.
func TestSavepointIsolation(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx store.Tx) error {
			close(started)
			<-release
			return tx.Put(ctx, "b", "first", []byte("1"))
		})
	}()
	<-started
	const n = 10
	boom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Put(ctx, "b", fmt.Sprint(i), []byte("v")); err != nil {
					return err
				}
				if err := tx.PutResource(ctx, bucket(i)); err != nil {
					return err
				}
				switch i {
				case 3:
					return boom
				case 6:
					panic("six")
				}
				return nil
			})
		}()
	}
	for len(s.reqs) < n {
		time.Sleep(time.Millisecond)
	}
	before := s.Stats().Batches
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first Update = %v", err)
	}
	// They share one transaction: the running one's (queued while it ran, see join) or the next.
	if got := s.Stats().Batches - before; got > 1 {
		t.Fatalf("the %d queued Updates ran in %d new batches; want at most 1", n, got)
	}
	for i, err := range errs {
		switch i {
		case 3:
			if !errors.Is(err, boom) {
				t.Errorf("Update %d = %v; want boom", i, err)
			}
		case 6:
			if err == nil {
				t.Errorf("Update %d (panics) = nil; want an error", i)
			}
		default:
			if err != nil {
				t.Errorf("Update %d = %v; want nil", i, err)
			}
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		for i := range n {
			v, err := tx.Get(ctx, "b", fmt.Sprint(i))
			if err != nil {
				return err
			}
			r, err := tx.GetResource(ctx, "111111111111", "us-east-1", "AWS::S3::Bucket", fmt.Sprintf("bucket-%03d", i))
			if err != nil {
				return err
			}
			want := i != 3 && i != 6
			if (v != nil) != want || (r != nil) != want {
				t.Errorf("after Update %d: Get = %q, GetResource = %v; want present = %v", i, v, r, want)
			}
		}
		entries, err := tx.ReadStream(ctx, 0, 100)
		if err != nil {
			return err
		}
		if len(entries) != n-2 {
			t.Errorf("ReadStream = %d entries; want %d (one per committed PutResource)", len(entries), n-2)
		}
		return nil
	})
}

func TestUpdateCancelledBeforeTurn(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{})
	go s.Update(ctx, func(tx store.Tx) error { close(started); <-release; return nil })
	<-started
	cctx, cancel := context.WithCancel(ctx)
	ran := atomic.Bool{}
	done := make(chan error)
	go func() {
		done <- s.Update(cctx, func(tx store.Tx) error { ran.Store(true); return nil })
	}()
	for len(s.reqs) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Update with cancelled ctx = %v; want context.Canceled", err)
	}
	if ran.Load() {
		t.Errorf("Update ran fn after its ctx was cancelled")
	}
}

func TestTxUnusableAfterReturn(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	var kept store.Tx
	update(t, s, func(tx store.Tx) error { kept = tx; return nil })
	if err := kept.Put(ctx, "b", "k", []byte("v")); err == nil {
		t.Errorf("Put on a tx kept after its Update returned = nil; want an error")
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 200
	var acked sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "b", fmt.Sprint(i), []byte("v")) })
			if err == nil {
				acked.Store(i, true)
			} else if !errors.Is(err, store.ErrClosed) {
				t.Errorf("Update %d = %v; want nil or ErrClosed", i, err)
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	wg.Wait()
	if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v; want ErrClosed", err)
	}
	s2, _ := openTest(t, dir)
	count := 0
	view(t, s2, func(tx store.ReadTx) error {
		for i := range n {
			v, err := tx.Get(ctx, "b", fmt.Sprint(i))
			if err != nil {
				return err
			}
			if _, ok := acked.Load(i); ok {
				count++
				if v == nil {
					t.Errorf("Get(%d) after reopen = nil; want the acknowledged value", i)
				}
			}
		}
		return nil
	})
	t.Logf("%d of %d Updates acknowledged before Close", count, n)
}

func TestResources(t *testing.T) {
	s, clk := openTest(t, t.TempDir())
	ctx := context.Background()
	acct, region, typ := "111111111111", "us-east-1", "AWS::CloudTrail::Trail"
	r := &store.Resource{Account: acct, Region: region, Type: typ, ID: "main", Name: "main", ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/main",
		Config: json.RawMessage(`{"IsLogging": false}`)}
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, r) })
	t0 := clk.Now()
	if r.Version != 1 || !r.Created.Equal(t0) || !r.Updated.Equal(t0) {
		t.Errorf("after first PutResource: version %d created %v updated %v; want 1, %v, %v", r.Version, r.Created, r.Updated, t0, t0)
	}
	clk.Add(time.Minute)
	r2 := *r
	r2.Config = json.RawMessage(`{"IsLogging":  true}`)
	r2.Tags = map[string]string{"team": "sec"}
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, &r2) })
	if r2.Version != 2 || !r2.Created.Equal(t0) || !r2.Updated.Equal(clk.Now()) {
		t.Errorf("after second PutResource: version %d created %v updated %v; want 2, %v, %v", r2.Version, r2.Created, r2.Updated, t0, clk.Now())
	}
	view(t, s, func(tx store.ReadTx) error {
		got, err := tx.GetResource(ctx, acct, region, typ, "main")
		if err != nil {
			return err
		}
		if got == nil || string(got.Config) != `{"IsLogging":  true}` || got.Tags["team"] != "sec" || got.Version != 2 || got.ARN != r.ARN {
			t.Errorf("GetResource = %+v; want version 2 with the config stored as given and tags", got)
		}
		other, err := tx.GetResource(ctx, acct, "eu-west-1", typ, "main")
		if err != nil || other != nil {
			t.Errorf("GetResource in another region = %v, %v; want nil, nil", other, err)
		}
		return nil
	})
	clk.Add(time.Minute)
	update(t, s, func(tx store.Tx) error { return tx.DeleteResource(ctx, acct, region, typ, "main") })
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteResource(ctx, acct, region, typ, "main") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteResource of a deleted resource = %v; want ErrNotFound", err)
	}
	clk.Add(time.Minute)
	r3 := *r
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, &r3) })
	if r3.Version != 4 {
		t.Errorf("re-created resource version = %d; want 4", r3.Version)
	}
	view(t, s, func(tx store.ReadTx) error {
		hist, next, err := tx.ResourceHistory(ctx, store.HistoryQuery{Account: acct, Region: region, Type: typ, ID: "main"})
		if err != nil {
			return err
		}
		var got []string
		for _, c := range hist {
			got = append(got, fmt.Sprintf("%d:%s", c.Version, c.Status))
		}
		want := "[4:ResourceDiscovered 3:ResourceDeleted 2:OK 1:ResourceDiscovered]"
		if fmt.Sprint(got) != want || next != "" {
			t.Errorf("ResourceHistory = %v, %q; want %s, no token", got, next, want)
		}
		// Paged, chronological, bounded in time.
		var pages []string
		tok := ""
		for {
			hs, nt, err := tx.ResourceHistory(ctx, store.HistoryQuery{Account: acct, Region: region, Type: typ, ID: "main",
				Chronological: true, Limit: 1, NextToken: tok, Earlier: t0.Add(time.Minute)})
			if err != nil {
				return err
			}
			for _, c := range hs {
				pages = append(pages, fmt.Sprint(c.Version))
			}
			if nt == "" {
				break
			}
			tok = nt
		}
		if fmt.Sprint(pages) != "[2 3 4]" {
			t.Errorf("ResourceHistory(chronological, from t0+1m, 1 per page) = %v; want [2 3 4]", pages)
		}
		entries, err := tx.ReadStream(ctx, 0, 10)
		if err != nil {
			return err
		}
		var statuses []string
		for _, e := range entries {
			var c store.ResourceChange
			if e.Kind != store.KindResource {
				t.Errorf("entry kind %q; want %q", e.Kind, store.KindResource)
			}
			if err := json.Unmarshal(e.Payload, &c); err != nil {
				return err
			}
			statuses = append(statuses, fmt.Sprintf("%d:%s", c.Version, c.Status))
		}
		if want := "[1:ResourceDiscovered 2:OK 3:ResourceDeleted 4:ResourceDiscovered]"; fmt.Sprint(statuses) != want {
			t.Errorf("stream resource entries = %v; want %s", statuses, want)
		}
		return nil
	})
}

func TestListAndFindResources(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	// 25 buckets in each of 2 accounts x 2 regions; the same names repeat across them.
	update(t, s, func(tx store.Tx) error {
		for _, acct := range []string{"111111111111", "222222222222"} {
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				for i := range 25 {
					if err := tx.PutResource(ctx, &store.Resource{Account: acct, Region: region, Type: "AWS::S3::Bucket", ID: fmt.Sprintf("b%02d", i)}); err != nil {
						return err
					}
				}
			}
		}
		if err := tx.PutResource(ctx, &store.Resource{Account: "111111111111", Region: "us-east-1", Type: "AWS::SNS::Topic", ID: "b00"}); err != nil {
			return err
		}
		return tx.DeleteResource(ctx, "111111111111", "us-east-1", "AWS::S3::Bucket", "b07")
	})
	list := func(tx store.ReadTx, q store.ResourceQuery) []string {
		var got []string
		for {
			rs, next, err := tx.ListResources(ctx, q)
			if err != nil {
				t.Fatalf("ListResources(%+v) = %v", q, err)
			}
			for _, r := range rs {
				got = append(got, r.Account[:1]+"/"+r.Region[:2]+"/"+r.ID)
			}
			if next == "" {
				return got
			}
			q.After = next
		}
	}
	view(t, s, func(tx store.ReadTx) error {
		got := list(tx, store.ResourceQuery{Account: "111111111111", Region: "us-east-1", Type: "AWS::S3::Bucket", Limit: 7})
		if len(got) != 24 || got[0] != "1/us/b00" || got[7] != "1/us/b08" || got[23] != "1/us/b24" {
			t.Errorf("ListResources(one account and region, 7 per page) = %v; want b00..b24 without b07", got)
		}
		got = list(tx, store.ResourceQuery{Type: "AWS::S3::Bucket", Limit: 9})
		if len(got) != 99 || got[0] != "1/eu/b00" || got[1] != "1/us/b00" || got[2] != "2/eu/b00" || got[98] != "2/us/b24" {
			t.Errorf("ListResources(any account, 9 per page) = %d items starting %v; want 99 ordered by id, account, region", len(got), got[:4])
		}
		got = list(tx, store.ResourceQuery{Account: "222222222222", Limit: 10})
		if len(got) != 50 {
			t.Errorf("ListResources(account 2, any region and type) = %d items; want 50", len(got))
		}
		got = list(tx, store.ResourceQuery{Account: "111111111111", Region: "us-east-1"})
		if len(got) != 25 { // 24 buckets + 1 topic
			t.Errorf("ListResources(account 1 us-east-1, any type) = %d items; want 25", len(got))
		}
		if _, _, err := tx.ListResources(ctx, store.ResourceQuery{Account: "1", After: "garbage"}); !errors.Is(err, store.ErrInvalidToken) {
			t.Errorf("ListResources(bad token) = %v; want ErrInvalidToken", err)
		}
		found, err := tx.FindResources(ctx, "AWS::S3::Bucket", "b07")
		if err != nil {
			return err
		}
		if len(found) != 3 {
			t.Errorf("FindResources(b07) = %d; want 3 (the deleted one excluded)", len(found))
		}
		return nil
	})
}

func TestKV(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(ctx, "creds", "root", []byte("secret")); err != nil {
			return err
		}
		if err := tx.Put(ctx, "creds", "empty", nil); err != nil {
			return err
		}
		return tx.Put(ctx, "settings", "root", []byte("other bucket"))
	})
	update(t, s, func(tx store.Tx) error { return tx.Put(ctx, "creds", "root", []byte("rotated")) })
	view(t, s, func(tx store.ReadTx) error {
		for _, c := range []struct{ b, k, want string }{{"creds", "root", "rotated"}, {"settings", "root", "other bucket"}} {
			if v, err := tx.Get(ctx, c.b, c.k); err != nil || string(v) != c.want {
				t.Errorf("Get(%s, %s) = %q, %v; want %q", c.b, c.k, v, err, c.want)
			}
		}
		if v, err := tx.Get(ctx, "creds", "empty"); err != nil || v == nil || len(v) != 0 {
			t.Errorf("Get(empty value) = %#v, %v; want empty non-nil", v, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.Delete(ctx, "creds", "root") })
	view(t, s, func(tx store.ReadTx) error {
		if v, err := tx.Get(ctx, "creds", "root"); err != nil || v != nil {
			t.Errorf("Get after Delete = %q, %v; want nil", v, err)
		}
		return nil
	})
}

func TestViewIsSnapshot(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error { return tx.Put(ctx, "b", "k", []byte("1")) })
	err := s.View(ctx, func(tx store.ReadTx) error {
		if v, _ := tx.Get(ctx, "b", "k"); string(v) != "1" {
			t.Errorf("Get = %q; want 1", v)
		}
		update(t, s, func(tx store.Tx) error { return tx.Put(ctx, "b", "k", []byte("2")) })
		if v, _ := tx.Get(ctx, "b", "k"); string(v) != "1" {
			t.Errorf("Get in the same View after a concurrent Update = %q; want 1 (snapshot)", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx store.ReadTx) error {
		if v, _ := tx.Get(ctx, "b", "k"); string(v) != "2" {
			t.Errorf("Get in a new View = %q; want 2", v)
		}
		return nil
	})
}

func TestMigrationsRecorded(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = openTest(t, dir) // a second open applies nothing and succeeds
	var n int
	if err := s.rdb.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows; want %d", n, len(ms))
	}
	var mode string
	if err := s.rdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestChangedNotifiesAppendCommits(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	ctx := context.Background()
	ch := s.Changed()
	update(t, s, func(tx store.Tx) error { return tx.Put(ctx, "b", "k", []byte("v")) })
	update(t, s, func(tx store.Tx) error { return tx.SetCheckpoint(ctx, "c", 1) })
	select {
	case <-ch:
		t.Fatalf("Changed closed by commits that appended no stream entry")
	default:
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Append(ctx, "k", nil); err != nil {
			return err
		}
		return errors.New("rolled back")
	}); err == nil {
		t.Fatal("Update = nil; want its error")
	}
	select {
	case <-ch:
		t.Fatalf("Changed closed by an append that was rolled back")
	default:
	}
	var seq int64
	update(t, s, func(tx store.Tx) error { var err error; seq, err = tx.Append(ctx, "k", []byte("p")); return err })
	select {
	case <-ch:
	default:
		t.Fatalf("Changed not closed after a committed append")
	}
	view(t, s, func(tx store.ReadTx) error {
		head, err := tx.StreamHead(ctx)
		if err != nil || head != seq {
			t.Errorf("StreamHead = %d, %v; want %d", head, err, seq)
		}
		es, err := tx.ReadStream(ctx, 0, 10)
		if err != nil || len(es) != 1 || es[0].Seq != seq || string(es[0].Payload) != "p" || es[0].Kind != "k" {
			t.Errorf("ReadStream = %+v, %v; want the one committed entry", es, err)
		}
		return nil
	})
	trim := func(upTo, want int64) {
		t.Helper()
		update(t, s, func(tx store.Tx) error {
			n, err := tx.TrimStream(ctx, upTo)
			if n != want {
				t.Errorf("TrimStream(%d) = %d; want %d", upTo, n, want)
			}
			return err
		})
	}
	trim(seq, 0) // the newest entry stays: it holds the high-water mark
	var next int64
	update(t, s, func(tx store.Tx) error { var err error; next, err = tx.Append(ctx, "k", nil); return err })
	if next <= seq {
		t.Errorf("Append after TrimStream = seq %d; want > %d (never reused)", next, seq)
	}
	trim(next, 1)
}

// TestWALBounded writes far more than the (lowered) WAL limit and checks that the WAL file
// was started over instead of growing with every write.
func TestWALBounded(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir)
	s.walLimit = 50
	ctx := context.Background()
	g := newBenchGen(5)
	for range 40 {
		es := make([]*store.Event, 200)
		for i := range es {
			es[i] = g.event(benchBase.Add(time.Duration(g.rng.Int64N(int64(benchSpan)))))
		}
		update(t, s, func(tx store.Tx) error { _, err := tx.AppendEvents(ctx, es); return err })
		s.checkpointOnce(ctx) // what the background checkpointer does, here in step with the writes
	}
	wal, err := os.Stat(filepath.Join(dir, FileName+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if wal.Size() >= db.Size() {
		t.Errorf("WAL is %d bytes, database %d; want the WAL restarted, smaller than the data written", wal.Size(), db.Size())
	}
}

// TestViewsHoldingEveryConnection runs as many Views as there are read connections, each
// reading with statements nothing has prepared yet while all of them are open: preparing
// must not wait for a connection of the pool.
func TestViewsHoldingEveryConnection(t *testing.T) {
	s, err := Open(t.TempDir(), Options{ReadConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var open sync.WaitGroup
	open.Add(3)
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			errs <- s.View(ctx, func(tx store.ReadTx) error {
				open.Done()
				open.Wait()
				_, err := tx.GetResource(ctx, "123456789012", "us-east-1", "AWS::S3::Bucket", fmt.Sprint("b", i))
				if err == nil {
					_, err = tx.Checkpoint(ctx, fmt.Sprint("c", i))
				}
				return err
			})
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("View = %v; want nil (a View waiting for a connection another View holds deadlocks)", err)
		}
	}
}

// TestWALStartsOverUnderSteadyWrites keeps the writer busy without a pause and checks that
// the WAL still starts over (catchUp) long before the RESTART limit: the background
// checkpoint alone never finishes between two commits.
func TestWALStartsOverUnderSteadyWrites(t *testing.T) {
	s, _ := openTest(t, t.TempDir())
	s.walLimit = 1 << 30 // bound's RESTART never runs
	ctx := context.Background()
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(i*7919 + i*i>>3) // does not compress: one row, about a page
	}
	var written atomic.Int64
	var wg sync.WaitGroup
	// Enough commits for the WAL to pass walResetFrames several times (a slow machine takes
	// longer, up to the deadline).
	stop := time.Now().Add(20 * time.Second)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && written.Load() < 4*walResetFrames {
				if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.Append(ctx, "k", payload); return err }); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
				// Steady, not saturating: callers of a server pause between calls, and
				// the writer then between transactions (when a background checkpoint can
				// finish; a writer that never pauses is what bound is for).
				time.Sleep(50 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	s.checkpointOnce(ctx)
	if n, frames := written.Load(), s.walFrames.Load(); frames > n/2 {
		t.Errorf("WAL holds %d frames after %d commits of a page each; want it started over on the way", frames, n)
	}
}

// TestReadModifyWrite: a write function that reads a resource and writes it back (the
// store then skips reading its version again) gets the same versions and history as one
// that writes blind, across deletes, re-creation and other resources in between.
func TestReadModifyWrite(t *testing.T) {
	s, clk := openTest(t, t.TempDir())
	ctx := context.Background()
	b0, b1 := bucket(0), bucket(1)
	update(t, s, func(tx store.Tx) error { return tx.PutResource(ctx, b0) })
	created := b0.Created
	step := func(fn func(tx store.Tx) error) {
		t.Helper()
		clk.Add(time.Minute)
		update(t, s, fn)
	}
	rmw := func(tx store.Tx, b *store.Resource, tag string) error {
		r, err := tx.GetResource(ctx, b.Account, b.Region, b.Type, b.ID)
		if err != nil || r == nil {
			return fmt.Errorf("get %s = %v, %v", b.ID, r, err)
		}
		r.Tags = map[string]string{"t": tag}
		return tx.PutResource(ctx, r)
	}
	step(func(tx store.Tx) error { return rmw(tx, b0, "a") })                                // v2
	step(func(tx store.Tx) error { return errors.Join(rmw(tx, b0, "b"), rmw(tx, b0, "c")) }) // v3, v4
	step(func(tx store.Tx) error {                                                           // v5 via a read, then b1 (v1) blind, then b0 again: v6
		if err := rmw(tx, b0, "d"); err != nil {
			return err
		}
		if err := tx.PutResource(ctx, b1); err != nil {
			return err
		}
		return tx.PutResource(ctx, bucket(0))
	})
	step(func(tx store.Tx) error { // v7 deleted, v8 created anew
		if _, err := tx.GetResource(ctx, b0.Account, b0.Region, b0.Type, b0.ID); err != nil {
			return err
		}
		if err := tx.DeleteResource(ctx, b0.Account, b0.Region, b0.Type, b0.ID); err != nil {
			return err
		}
		return tx.PutResource(ctx, bucket(0))
	})
	// A function that fails leaves nothing behind, including what it knew.
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.Tx) error { return errors.Join(rmw(tx, b0, "x"), boom) }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v; want boom", err)
	}
	step(func(tx store.Tx) error { return rmw(tx, b0, "e") }) // v9

	var hist []*store.ResourceChange
	view(t, s, func(tx store.ReadTx) error {
		var err error
		hist, _, err = tx.ResourceHistory(ctx, store.HistoryQuery{Account: b0.Account, Region: b0.Region, Type: b0.Type, ID: b0.ID, Chronological: true})
		return err
	})
	want := []string{"ResourceDiscovered", "OK", "OK", "OK", "OK", "OK", "ResourceDeleted", "ResourceDiscovered", "OK"}
	if len(hist) != len(want) {
		t.Fatalf("history has %d versions; want %d", len(hist), len(want))
	}
	for i, c := range hist {
		if c.Version != int64(i+1) || c.Status != want[i] {
			t.Errorf("version %d: got version %d status %s; want %s", i+1, c.Version, c.Status, want[i])
		}
		if wantCreated := i < 7; wantCreated != c.Created.Equal(created) {
			t.Errorf("version %d: created %s; the first life began %s", i+1, c.Created, created)
		}
	}
	if got := hist[len(hist)-1].Tags["t"]; got != "e" {
		t.Errorf("last version's tag t = %q; want e", got)
	}
}
