package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	wirelogs "github.com/bannin/bannin/internal/wire/logs"
)

// Stream is a log stream's stored state.
type Stream struct {
	Name          string `json:"logStreamName"`
	CreationTime  int64  `json:"creationTime"`
	FirstEvent    int64  `json:"firstEventTimestamp,omitempty"`
	LastEvent     int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestion int64  `json:"lastIngestionTime,omitempty"`
	StoredBytes   int64  `json:"storedBytes"`
	// Seq numbers the stream's events, so that events with equal timestamps keep their
	// order and their keys stay unique.
	Seq uint32 `json:"seq"`
	// BlockSpan is the longest time between the key of one of the stream's event blocks
	// and its last event (milliseconds): how far before a time a scan must start.
	BlockSpan int64 `json:"blockSpan,omitempty"`
}

var streamNameRE = regexp.MustCompile(`^[^:*]{1,512}$`)

func streamKey(account, region, group, stream string) string {
	return groupPrefix(account, region, group) + stream
}

func decodeStream(kv store.KV) (*Stream, error) {
	var st Stream
	if err := json.Unmarshal(kv.Value, &st); err != nil {
		return nil, fmt.Errorf("logs: decode stream %q: %w", kv.Key, err)
	}
	return &st, nil
}

// getStream loads a log stream, or answers ResourceNotFoundException.
func getStream(ctx context.Context, c *call.Call, group, stream string) (*Stream, error) {
	b, err := c.Tx.Get(ctx, bucketStreams, streamKey(c.Account, c.Region, group, stream))
	if err != nil {
		return nil, fmt.Errorf("logs: get stream: %w", err)
	}
	if b == nil {
		return nil, errStreamNotFound()
	}
	return decodeStream(store.KV{Key: stream, Value: b})
}

func putStream(ctx context.Context, c *call.Call, group string, st *Stream) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("logs: encode stream: %w", err)
	}
	if err := c.Write().Put(ctx, bucketStreams, streamKey(c.Account, c.Region, group, st.Name), b); err != nil {
		return fmt.Errorf("logs: put stream: %w", err)
	}
	return nil
}

// CreateLogStream creates a log stream in a log group.
func (s *Service) CreateLogStream(ctx context.Context, in *wirelogs.CreateLogStreamRequest) (*wirelogs.CreateLogStreamOutput, error) {
	c := call.From(ctx)
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)
	if !streamNameRE.MatchString(name) || strings.ContainsRune(name, 0) {
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	if _, err := getGroup(ctx, c, group); err != nil {
		return nil, err
	}
	_, err := getStream(ctx, c, group, name)
	if err == nil {
		return nil, errf("ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	if !isNotFound(err) {
		return nil, err
	}
	if err := putStream(ctx, c, group, &Stream{Name: name, CreationTime: ms(c.Time)}); err != nil {
		return nil, err
	}
	return &wirelogs.CreateLogStreamOutput{}, nil
}

// DeleteLogStream deletes a log stream and its events.
func (s *Service) DeleteLogStream(ctx context.Context, in *wirelogs.DeleteLogStreamRequest) (*wirelogs.DeleteLogStreamOutput, error) {
	c := call.From(ctx)
	group, name := aws.ToString(in.LogGroupName), aws.ToString(in.LogStreamName)
	if _, err := getGroup(ctx, c, group); err != nil {
		return nil, err
	}
	if _, err := getStream(ctx, c, group, name); err != nil {
		return nil, err
	}
	key := streamKey(c.Account, c.Region, group, name)
	if err := deleteAll(ctx, c.Write(), bucketEvents, key+"\x00"); err != nil {
		return nil, err
	}
	if err := c.Write().Delete(ctx, bucketStreams, key); err != nil {
		return nil, fmt.Errorf("logs: delete stream: %w", err)
	}
	return &wirelogs.DeleteLogStreamOutput{}, nil
}

// groupStreams returns a group's streams ordered by name.
func groupStreams(ctx context.Context, c *call.Call, group, namePrefix string) ([]*Stream, error) {
	kvs, err := store.ListAll(ctx, c.Tx, bucketStreams, groupPrefix(c.Account, c.Region, group)+namePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Stream, 0, len(kvs))
	for _, kv := range kvs {
		st, err := decodeStream(kv)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// DescribeLogStreams lists a group's streams by name or by last event time.
func (s *Service) DescribeLogStreams(ctx context.Context, in *wirelogs.DescribeLogStreamsRequest) (*wirelogs.DescribeLogStreamsResponse, error) {
	c := call.From(ctx)
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	order := aws.ToString(in.OrderBy)
	if order == "" {
		order = "LogStreamName"
	}
	prefix := aws.ToString(in.LogStreamNamePrefix)
	switch order {
	case "LogStreamName":
	case "LastEventTime":
		if prefix != "" {
			return nil, errf("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, errf("InvalidParameterException", "1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", order)
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "o/"))
		if !strings.HasPrefix(tok, "o/") || err != nil || n < 0 {
			return nil, errf("InvalidParameterException", "The specified nextToken is invalid.")
		}
		start = n
	}
	if _, err := getGroup(ctx, c, group); err != nil {
		return nil, err
	}
	streams, err := groupStreams(ctx, c, group, prefix)
	if err != nil {
		return nil, err
	}
	if order == "LastEventTime" {
		sort.SliceStable(streams, func(i, j int) bool { return streams[i].LastEvent < streams[j].LastEvent })
	}
	if aws.ToBool(in.Descending) {
		for i, j := 0, len(streams)-1; i < j; i, j = i+1, j-1 {
			streams[i], streams[j] = streams[j], streams[i]
		}
	}
	out := &wirelogs.DescribeLogStreamsResponse{LogStreams: []wirelogs.LogStream{}}
	for i := start; i < len(streams); i++ {
		if len(out.LogStreams) == limit {
			out.NextToken = aws.String("o/" + strconv.Itoa(i))
			break
		}
		st := streams[i]
		ls := wirelogs.LogStream{LogStreamName: aws.String(st.Name), CreationTime: aws.Int64(st.CreationTime),
			Arn:         aws.String(GroupARN(c.Region, c.Account, group) + ":log-stream:" + st.Name),
			StoredBytes: aws.Int64(st.StoredBytes)}
		if st.LastIngestion != 0 {
			ls.FirstEventTimestamp = aws.Int64(st.FirstEvent)
			ls.LastEventTimestamp = aws.Int64(st.LastEvent)
			ls.LastIngestionTime = aws.Int64(st.LastIngestion)
			ls.UploadSequenceToken = aws.String(strconv.FormatUint(uint64(st.Seq), 10))
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	return out, nil
}
