package recorder

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/config"
)

const (
	// channelsBucket holds each account and region's delivery channel (channelState).
	channelsBucket = "config.channels"
	// snapshotsBucket marks delivered snapshots by id, so a redelivered request is a no-op.
	snapshotsBucket = "config.snapshots"
)

// bucketType is the store type of S3 buckets.
const bucketType = "AWS::S3::Bucket"

var deliveryFrequencies = []string{"One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"}

// channelState is a delivery channel and how its deliveries went.
type channelState struct {
	Channel  config.DeliveryChannel `json:"channel"`
	Snapshot deliveryInfo           `json:"snapshot"`
	Stream   deliveryInfo           `json:"stream"`
	History  deliveryInfo           `json:"history"`
	// LastPeriodic is when Run last requested a periodic snapshot.
	LastPeriodic *time.Time `json:"lastPeriodic,omitempty"`
	// LastHistory is when Run last requested a history delivery (or first saw the channel).
	LastHistory *time.Time `json:"lastHistory,omitempty"`
}

// deliveryInfo is the outcome of the latest delivery of one kind.
type deliveryInfo struct {
	LastStatus     string     `json:"lastStatus,omitempty"`
	LastErrorCode  string     `json:"lastErrorCode,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	LastAttempt    *time.Time `json:"lastAttempt,omitempty"`
	LastSuccessful *time.Time `json:"lastSuccessful,omitempty"`
}

func (d *deliveryInfo) record(at time.Time, err error) {
	d.LastAttempt = &at
	if err == nil {
		d.LastStatus, d.LastErrorCode, d.LastError, d.LastSuccessful = "Success", "", "", &at
		return
	}
	d.LastStatus, d.LastErrorCode, d.LastError = "Failure", "DeliveryFailed", err.Error()
}

// snapshotRequest is the payload of kindSnapshot entries.
type snapshotRequest struct {
	Account string    `json:"account"`
	Region  string    `json:"region"`
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
}

func loadChannel(ctx context.Context, tx kvReader, account, region string) (*channelState, error) {
	b, err := tx.Get(ctx, channelsBucket, account+sep+region)
	if err != nil {
		return nil, fmt.Errorf("recorder: load delivery channel: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var ch channelState
	if err := json.Unmarshal(b, &ch); err != nil {
		return nil, fmt.Errorf("recorder: decode delivery channel: %w", err)
	}
	return &ch, nil
}

func saveChannel(ctx context.Context, tx store.Tx, account, region string, ch *channelState) error {
	b, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("recorder: encode delivery channel: %w", err)
	}
	if err := tx.Put(ctx, channelsBucket, account+sep+region, b); err != nil {
		return fmt.Errorf("recorder: save delivery channel: %w", err)
	}
	return nil
}

func noSuchChannel(name string) error {
	return &config.NoSuchDeliveryChannelException{Message: aws.String(fmt.Sprintf("Cannot find delivery channel with specified name '%s'.", name))}
}

// namedChannel loads the call's delivery channel, which must have the given name.
func namedChannel(ctx context.Context, c *call.Call, name string) (*channelState, error) {
	ch, err := loadChannel(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if ch == nil || aws.ToString(ch.Channel.Name) != name {
		return nil, noSuchChannel(name)
	}
	return ch, nil
}

// PutDeliveryChannel creates or changes the delivery channel: the S3 bucket (which must
// exist) that receives snapshots and the SNS topic that receives notifications. A
// configuration recorder must exist first, and there is at most one channel.
func (s *Service) PutDeliveryChannel(ctx context.Context, in *config.PutDeliveryChannelRequest) (*config.PutDeliveryChannelOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	d := in.DeliveryChannel
	if d == nil {
		return nil, &config.ValidationException{Message: aws.String("DeliveryChannel is required.")}
	}
	name := aws.ToString(d.Name)
	if name == "" {
		name = "default"
	}
	if len(name) > 256 {
		return nil, &config.InvalidDeliveryChannelNameException{Message: aws.String("The delivery channel name is not valid: it must be 1 to 256 characters.")}
	}
	rec, err := loadRecorder(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, &config.NoAvailableConfigurationRecorderException{Message: aws.String(
			"Configuration recorder is not available to put delivery channel.")}
	}
	prev, err := loadChannel(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if prev != nil && aws.ToString(prev.Channel.Name) != name {
		return nil, &config.MaxNumberOfDeliveryChannelsExceededException{Message: aws.String(fmt.Sprintf(
			"Failed to put delivery channel '%s' because the maximum number of delivery channels: 1 is reached.", name))}
	}
	bucket := aws.ToString(d.S3BucketName)
	if bucket == "" {
		return nil, &config.NoSuchBucketException{Message: aws.String("Cannot find a S3 bucket with an empty bucket name.")}
	}
	bs, err := tx.FindResources(ctx, bucketType, bucket)
	if err != nil {
		return nil, fmt.Errorf("recorder: find bucket %s: %w", bucket, err)
	}
	if len(bs) == 0 {
		return nil, &config.NoSuchBucketException{Message: aws.String(fmt.Sprintf("Cannot find a S3 bucket with name '%s'.", bucket))}
	}
	if p := d.S3KeyPrefix; p != nil {
		switch {
		case *p == "":
			return nil, &config.InvalidS3KeyPrefixException{Message: aws.String("The s3 key prefix '' is not valid, empty s3 key prefix.")}
		case strings.HasPrefix(*p, "/") || strings.HasSuffix(*p, "/") || strings.Contains(*p, "AWSLogs"):
			return nil, &config.InvalidS3KeyPrefixException{Message: aws.String(fmt.Sprintf(
				"The s3 key prefix '%s' is not valid: it cannot start or end with '/' or contain 'AWSLogs'.", *p))}
		}
	}
	if t := aws.ToString(d.SnsTopicARN); t != "" {
		parts := strings.Split(t, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5] == "" {
			return nil, &config.InvalidSNSTopicARNException{Message: aws.String(fmt.Sprintf("The sns topic arn '%s' is not valid.", t))}
		}
	}
	if p := d.ConfigSnapshotDeliveryProperties; p != nil && p.DeliveryFrequency != nil {
		ok := false
		for _, f := range deliveryFrequencies {
			ok = ok || f == *p.DeliveryFrequency
		}
		if !ok {
			return nil, &config.ValidationException{Message: aws.String(fmt.Sprintf(
				"1 validation error detected: Value '%s' at 'deliveryChannel.configSnapshotDeliveryProperties.deliveryFrequency' failed to satisfy constraint: Member must satisfy enum value set: [One_Hour, TwentyFour_Hours, Six_Hours, Three_Hours, Twelve_Hours]", *p.DeliveryFrequency))}
		}
	}
	ch := prev
	if ch == nil {
		// History files are delivered every six hours from the channel's creation.
		now := c.Time.UTC()
		ch = &channelState{LastHistory: &now}
	}
	ch.Channel = *d
	ch.Channel.Name = aws.String(name)
	if err := saveChannel(ctx, tx, c.Account, c.Region, ch); err != nil {
		return nil, err
	}
	c.Touch("AWS::Config::DeliveryChannel", name, "")
	return &config.PutDeliveryChannelOutput{}, nil
}

// DescribeDeliveryChannels lists the delivery channel (the named ones must exist).
func (s *Service) DescribeDeliveryChannels(ctx context.Context, in *config.DescribeDeliveryChannelsRequest) (*config.DescribeDeliveryChannelsResponse, error) {
	chs, err := selectChannels(ctx, in.DeliveryChannelNames)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeDeliveryChannelsResponse{DeliveryChannels: []config.DeliveryChannel{}}
	for _, ch := range chs {
		out.DeliveryChannels = append(out.DeliveryChannels, ch.Channel)
	}
	return out, nil
}

func selectChannels(ctx context.Context, names []string) ([]*channelState, error) {
	c := call.From(ctx)
	ch, err := loadChannel(ctx, c.Tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if ch == nil {
			return nil, nil
		}
		return []*channelState{ch}, nil
	}
	var out []*channelState
	for _, n := range names {
		if ch == nil || aws.ToString(ch.Channel.Name) != n {
			return nil, noSuchChannel(n)
		}
		out = append(out, ch)
	}
	return out, nil
}

func exportInfo(d deliveryInfo) *config.ConfigExportDeliveryInfo {
	if d.LastStatus == "" {
		return &config.ConfigExportDeliveryInfo{}
	}
	out := &config.ConfigExportDeliveryInfo{LastStatus: aws.String(d.LastStatus), LastAttemptTime: d.LastAttempt,
		LastSuccessfulTime: d.LastSuccessful}
	if d.LastErrorCode != "" {
		out.LastErrorCode, out.LastErrorMessage = aws.String(d.LastErrorCode), aws.String(d.LastError)
	}
	return out
}

// DescribeDeliveryChannelStatus reports how the channel's deliveries went: snapshots and
// history files to S3 and notifications to SNS (NOT_APPLICABLE without a topic).
func (s *Service) DescribeDeliveryChannelStatus(ctx context.Context, in *config.DescribeDeliveryChannelStatusRequest) (*config.DescribeDeliveryChannelStatusResponse, error) {
	chs, err := selectChannels(ctx, in.DeliveryChannelNames)
	if err != nil {
		return nil, err
	}
	out := &config.DescribeDeliveryChannelStatusResponse{DeliveryChannelsStatus: []config.DeliveryChannelStatus{}}
	for _, ch := range chs {
		stream := &config.ConfigStreamDeliveryInfo{LastStatus: aws.String("Not_Applicable")}
		if aws.ToString(ch.Channel.SnsTopicARN) != "" && ch.Stream.LastStatus != "" {
			stream = &config.ConfigStreamDeliveryInfo{LastStatus: aws.String(ch.Stream.LastStatus), LastStatusChangeTime: ch.Stream.LastAttempt}
			if ch.Stream.LastErrorCode != "" {
				stream.LastErrorCode, stream.LastErrorMessage = aws.String(ch.Stream.LastErrorCode), aws.String(ch.Stream.LastError)
			}
		}
		out.DeliveryChannelsStatus = append(out.DeliveryChannelsStatus, config.DeliveryChannelStatus{
			Name: ch.Channel.Name, ConfigSnapshotDeliveryInfo: exportInfo(ch.Snapshot),
			ConfigHistoryDeliveryInfo: exportInfo(ch.History), ConfigStreamDeliveryInfo: stream})
	}
	return out, nil
}

// DeleteDeliveryChannel deletes the channel; not while the recorder is recording.
func (s *Service) DeleteDeliveryChannel(ctx context.Context, in *config.DeleteDeliveryChannelRequest) (*config.DeleteDeliveryChannelOutput, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.DeliveryChannelName)
	if _, err := namedChannel(ctx, c, name); err != nil {
		return nil, err
	}
	rec, err := loadRecorder(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.Recording {
		return nil, &config.LastDeliveryChannelDeleteFailedException{Message: aws.String(
			"Failed to delete last specified delivery channel with name '" + name + "', because there is a running configuration recorder.")}
	}
	if err := tx.Delete(ctx, channelsBucket, c.Account+sep+c.Region); err != nil {
		return nil, fmt.Errorf("recorder: delete delivery channel: %w", err)
	}
	if err := clearPending(ctx, tx, c.Account, c.Region); err != nil {
		return nil, err
	}
	c.Touch("AWS::Config::DeliveryChannel", name, "")
	return &config.DeleteDeliveryChannelOutput{}, nil
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// DeliverConfigSnapshot schedules the delivery of a snapshot of the current items to the
// channel's bucket and returns its id; the file is written once the call has committed.
func (s *Service) DeliverConfigSnapshot(ctx context.Context, in *config.DeliverConfigSnapshotRequest) (*config.DeliverConfigSnapshotResponse, error) {
	c := call.From(ctx)
	tx, err := writeTx(c)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.DeliveryChannelName)
	if _, err := namedChannel(ctx, c, name); err != nil {
		return nil, err
	}
	rec, err := loadRecorder(ctx, tx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, &config.NoAvailableConfigurationRecorderException{Message: aws.String(
			"There are no configuration recorders available to provide the role needed to describe your resources. Create a configuration recorder.")}
	}
	if !rec.Recording {
		return nil, &config.NoRunningConfigurationRecorderException{Message: aws.String("There is no configuration recorder running.")}
	}
	req := snapshotRequest{Account: c.Account, Region: c.Region, ID: newUUID(), Time: c.Time.UTC()}
	b, _ := json.Marshal(req)
	if _, err := tx.Append(ctx, kindSnapshot, b); err != nil {
		return nil, fmt.Errorf("recorder: append snapshot request: %w", err)
	}
	started := map[string]any{"configSnapshotId": req.ID, "notificationCreationTime": formatTime(req.Time),
		"messageType": MessageSnapshotStarted, "recordVersion": "1.1"}
	if err := s.Notify(ctx, tx, c.Account, c.Region, MessageSnapshotStarted, started); err != nil {
		return nil, err
	}
	return &config.DeliverConfigSnapshotResponse{ConfigSnapshotId: aws.String(req.ID)}, nil
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// snapshotKey is the object key of a snapshot file, in AWS Config's layout.
func snapshotKey(prefix string, req snapshotRequest) string {
	t := req.Time.UTC()
	key := fmt.Sprintf("AWSLogs/%s/Config/%s/%d/%d/%d/ConfigSnapshot/%s_Config_%s_ConfigSnapshot_%s_%s.json.gz",
		req.Account, req.Region, t.Year(), int(t.Month()), t.Day(), req.Account, req.Region, t.Format("20060102T150405Z"), req.ID)
	if prefix != "" {
		key = prefix + "/" + key
	}
	return key
}

// snapshotFile is the content of a snapshot file.
type snapshotFile struct {
	FileVersion        string  `json:"fileVersion"`
	ConfigSnapshotID   string  `json:"configSnapshotId"`
	ConfigurationItems []*Item `json:"configurationItems"`
}

// handleSnapshots writes requested snapshot files, outside any transaction, then records
// the outcome and notifies.
func (s *Service) handleSnapshots(ctx context.Context, entries []store.Entry) error {
	st, err := s.storeOrErr()
	if err != nil {
		return err
	}
	for _, e := range entries {
		var req snapshotRequest
		if err := json.Unmarshal(e.Payload, &req); err != nil {
			s.opts.Logger.Error("recorder: undecodable snapshot request", "seq", e.Seq, "err", err)
			continue
		}
		var ch *channelState
		var items []*Item
		done := false
		err := st.View(ctx, func(tx store.ReadTx) error {
			mark, err := tx.Get(ctx, snapshotsBucket, req.ID)
			if err != nil || mark != nil {
				done = mark != nil
				return err
			}
			if ch, err = loadChannel(ctx, tx, req.Account, req.Region); err != nil || ch == nil {
				return err
			}
			items, err = s.CurrentItems(ctx, tx, req.Account, req.Region, nil)
			return err
		})
		if err != nil {
			return err
		}
		if done || ch == nil {
			continue
		}
		bucket := aws.ToString(ch.Channel.S3BucketName)
		key := snapshotKey(aws.ToString(ch.Channel.S3KeyPrefix), req)
		if items == nil {
			items = []*Item{}
		}
		putErr, err := s.putFile(ctx, req.Account, req.Region, bucket, key,
			snapshotFile{FileVersion: "1.0", ConfigSnapshotID: req.ID, ConfigurationItems: items})
		if err != nil {
			return err
		}
		if putErr != nil {
			s.opts.Logger.Warn("recorder: snapshot delivery failed", "bucket", bucket, "key", key, "err", putErr)
		}
		now := s.opts.Clock().UTC()
		err = st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, snapshotsBucket, req.ID, []byte(key)); err != nil {
				return err
			}
			cur, err := loadChannel(ctx, tx, req.Account, req.Region)
			if err != nil {
				return err
			}
			if cur != nil {
				cur.Snapshot.record(now, putErr)
				if err := saveChannel(ctx, tx, req.Account, req.Region, cur); err != nil {
					return err
				}
			}
			msg := map[string]any{"configSnapshotId": req.ID, "s3ObjectKey": key, "s3Bucket": bucket,
				"notificationCreationTime": formatTime(now), "messageType": MessageSnapshotCompleted, "recordVersion": "1.1"}
			typ := MessageSnapshotCompleted
			if putErr != nil {
				typ = MessageSnapshotFailed
				msg["messageType"] = typ
				msg["failureMessage"] = putErr.Error()
			}
			return s.Notify(ctx, tx, req.Account, req.Region, typ, msg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, fmt.Errorf("recorder: encode file: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("recorder: compress file: %w", err)
	}
	return buf.Bytes(), nil
}

// putFile writes a gzipped JSON delivery file (snapshot, history) to a bucket through
// Options.PutObject. putErr is the delivery's failure, for the channel's status; err is a
// failure to encode, or the context ending.
func (s *Service) putFile(ctx context.Context, account, region, bucket, key string, doc any) (putErr, err error) {
	body, err := gzipJSON(doc)
	if err != nil {
		return nil, err
	}
	if s.opts.PutObject == nil {
		return errors.New("no object writer configured"), nil
	}
	if putErr = s.opts.PutObject(ctx, account, region, bucket, key, body); putErr != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return putErr, nil
}
