package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/store"
)

// exportColumns are the CSV columns, as the CloudTrail console's event history download has them.
var exportColumns = []string{"Event ID", "Event time", "User name", "Event name", "Resource type", "Resource name",
	"Event source", "AWS access key", "AWS region", "Error code", "Source IP address", "Read-only", "Resources"}

// Export writes the events q selects, newest first, as CSV (the console's download) or
// as JSON in the log file format ({"Records":[...]}), which bannin import reads back.
func Export(ctx context.Context, st store.Store, q store.EventQuery, format string, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var cw *csv.Writer
	switch format {
	case "csv":
		cw = csv.NewWriter(bw)
		if err := cw.Write(exportColumns); err != nil {
			return 0, err
		}
	case "json":
		if _, err := bw.WriteString(`{"Records":[`); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("export: format %q is not csv or json", format)
	}
	n := 0
	q.Limit = 1000
	for {
		var evs []*store.Event
		var next string
		err := st.View(ctx, func(tx store.ReadTx) error {
			var err error
			evs, next, err = tx.LookupEvents(ctx, q)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		for _, ev := range evs {
			if cw != nil {
				err = cw.Write(csvRow(ev))
			} else {
				if n > 0 {
					bw.WriteByte(',')
				}
				_, err = bw.Write(ev.Record)
			}
			if err != nil {
				return n, err
			}
			n++
		}
		if next == "" {
			break
		}
		q.NextToken = next
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	} else if _, err := bw.WriteString("]}\n"); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func csvRow(ev *store.Event) []string {
	var rec struct {
		ErrorCode       string `json:"errorCode"`
		SourceIPAddress string `json:"sourceIPAddress"`
	}
	_ = json.Unmarshal(ev.Record, &rec)
	var typ, name string
	if len(ev.Resources) > 0 {
		typ, name = ev.Resources[0].Type, ev.Resources[0].Name
	}
	var res []string
	for _, r := range ev.Resources {
		res = append(res, r.Type+"="+r.Name)
	}
	return []string{ev.EventID, FormatTime(ev.Time), ev.Username, ev.EventName, typ, name, ev.EventSource,
		ev.AccessKeyID, ev.Region, rec.ErrorCode, rec.SourceIPAddress, strconv.FormatBool(ev.ReadOnly), strings.Join(res, ";")}
}
