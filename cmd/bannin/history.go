package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/bannin/bannin/internal/audit"
	"github.com/bannin/bannin/internal/iam"
	cwlogs "github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/server"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
)

func importLogs(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	dataDir := fs.String("data-dir", "./bannin-data", "where bannin keeps its data")
	group := fs.String("log-group", "", "load the events into this CloudWatch Logs group (which must exist) instead of the event history")
	account := fs.String("account-id", "", "the log group's account (default: the data dir's default account)")
	region := fs.String("region", "us-east-1", "the log group's region")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return fmt.Errorf("import: name at least one file or directory of CloudTrail log files")
	}
	if *group != "" {
		// Imported log events feed metric filters through the stream, which a running server
		// would not see.
		lock, err := server.LockDataDir(*dataDir)
		if err != nil {
			return fmt.Errorf("import --log-group: %w; stop it first", err)
		}
		defer lock.Close()
	}
	if *group != "" && *account == "" {
		b, err := os.ReadFile(filepath.Join(*dataDir, iam.RootCredentialsFile))
		if err != nil {
			return fmt.Errorf("import: --log-group needs --account-id or a data dir a server has started in: %w", err)
		}
		key, err := iam.ParseKey(b)
		if err != nil {
			return err
		}
		*account = key.Account
	}
	st, err := sqlite.Open(*dataDir, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	opts := audit.ImportOptions{Store: st}
	if *group != "" {
		err := st.View(context.Background(), func(tx store.ReadTx) error {
			r, err := tx.GetResource(context.Background(), *account, *region, cwlogs.ResourceType, *group)
			if err == nil && r == nil {
				err = fmt.Errorf("import: log group %s does not exist in account %s, region %s (create it with aws logs create-log-group)", *group, *account, *region)
			}
			return err
		})
		if err != nil {
			return err
		}
		opts.Write = func(ctx context.Context, tx store.Tx, evs []*store.Event) (int, error) {
			return cwlogs.ImportTrailEvents(ctx, tx, *account, *region, *group, time.Now(), evs)
		}
	}
	if isatty.IsTerminal(os.Stderr.Fd()) {
		opts.Progress = func(p audit.ImportProgress) { progressBar(p, time.Since(start)) }
	}
	sum, err := audit.Import(ctx, fs.Args(), opts)
	if opts.Progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if sum != nil {
		el := time.Since(start)
		rate := float64(sum.Events) / el.Seconds()
		fmt.Printf("imported %d new events (%d already present) from %d files in %s (%.0f events/s)\n",
			sum.Inserted, sum.Duplicates, sum.Files-len(sum.Malformed), el.Round(time.Millisecond), rate)
		for _, m := range sum.Malformed {
			fmt.Printf("skipped %s\n", m.Error())
		}
		if len(sum.Malformed) > 0 && err == nil {
			err = fmt.Errorf("import: %d malformed files skipped", len(sum.Malformed))
		}
	}
	return err
}

func progressBar(p audit.ImportProgress, el time.Duration) {
	const width = 30
	frac := 1.0
	if p.BytesTotal > 0 {
		frac = float64(p.Bytes) / float64(p.BytesTotal)
	}
	n := int(frac * width)
	fmt.Fprintf(os.Stderr, "\r[%s%s] %3.0f%% %d/%d files, %d events (%d new), %s",
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, p.Files, p.FilesTotal, p.Events, p.Inserted, el.Round(time.Second))
}

func exportEvents(args []string) error {
	fs := flag.NewFlagSet("events export", flag.ExitOnError)
	dataDir := fs.String("data-dir", "./bannin-data", "where bannin keeps its data")
	format := fs.String("format", "csv", "csv or json")
	startTime := fs.String("start-time", "", "oldest event time (RFC 3339)")
	endTime := fs.String("end-time", "", "newest event time (RFC 3339)")
	attr := fs.String("lookup-attribute", "", "Key=Value, as LookupEvents takes it (EventName, Username, ResourceName...)")
	region := fs.String("region", "", "only events of this region")
	account := fs.String("account-id", "", "only events of this account")
	category := fs.String("event-category", "", "management (default), data or insight")
	fs.Parse(args)
	q := store.EventQuery{Account: *account, Region: *region, Category: *category}
	var err error
	if q.Start, err = parseTime(*startTime); err != nil {
		return fmt.Errorf("--start-time: %w", err)
	}
	if q.End, err = parseTime(*endTime); err != nil {
		return fmt.Errorf("--end-time: %w", err)
	}
	if *attr != "" {
		k, v, ok := strings.Cut(*attr, "=")
		if !ok {
			return fmt.Errorf("--lookup-attribute %q: want Key=Value", *attr)
		}
		q.AttributeKey, q.AttributeValue = k, v
	}
	// Opening a store creates it: an export from a directory without one would quietly
	// make an empty store and export nothing, which looks like a history without events.
	if _, err := os.Stat(filepath.Join(*dataDir, sqlite.FileName)); err != nil {
		return fmt.Errorf("no bannin data in %s (give the server's --data-dir): %w", *dataDir, err)
	}
	st, err := sqlite.Open(*dataDir, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := audit.Export(context.Background(), st, q, *format, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d events\n", n)
	return nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}
