package objects

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bannin/bannin/internal/awserr"
	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/wire/s3"
)

// pastPrefix is a key after every key that starts with p.
func pastPrefix(p string) string { return p + string(utf8.MaxRune) }

// listing is one page of a key listing: entries and common prefixes in key order.
type listing struct {
	entries   []*objectMeta
	raw       []store.KV
	prefixes  []string
	truncated bool
	// last is the key or common prefix listed last: the next page's marker.
	last string
	// lastKV is the KV key of the last entry (a version listing's next marker).
	lastKV string
}

// scan lists the KV bucket kv after the KV key after, rolling keys up to common prefixes at
// the delimiter (skipping those not past marker), up to max entries and prefixes together.
// keyOf gives the object key of a KV key. Entries are decoded as objects unless raw.
func scan(ctx context.Context, tx store.ReadTx, kv, prefix, delimiter, after, marker string, max int,
	keyOf func(string) string, raw bool) (*listing, error) {
	l := &listing{}
	if max <= 0 {
		return l, nil
	}
	for {
		rows, err := tx.List(ctx, kv, prefix, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("objects: list %s: %w", kv, err)
		}
		if len(rows) == 0 {
			return l, nil
		}
		jumped := false
		for _, r := range rows {
			key := keyOf(r.Key)
			if delimiter != "" {
				if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
					cp := key[:len(prefix)+i+len(delimiter)]
					after, jumped = pastPrefix(cp), true
					if cp <= marker {
						break // listed on an earlier page
					}
					if len(l.entries)+len(l.raw)+len(l.prefixes) == max {
						l.truncated = true
						return l, nil
					}
					l.prefixes = append(l.prefixes, cp)
					l.last, l.lastKV = cp, ""
					break
				}
			}
			if len(l.entries)+len(l.raw)+len(l.prefixes) == max {
				l.truncated = true
				return l, nil
			}
			if raw {
				l.raw = append(l.raw, r)
			} else {
				m, err := decodeMeta(r.Value)
				if err != nil {
					return nil, err
				}
				l.entries = append(l.entries, m)
			}
			l.last, l.lastKV = key, r.Key
			after = r.Key
		}
		if !jumped && len(rows) < 1000 {
			return l, nil
		}
	}
}

func sameKey(k string) string { return k }

func versionKey(k string) string {
	key, _, _ := strings.Cut(k, sep)
	return key
}

// encoder applies EncodingType=url to the keys and prefixes of an answer.
type encoder bool

func (e encoder) s(v string) string {
	if !e {
		return v
	}
	return strings.ReplaceAll(url.QueryEscape(v), "%2F", "/")
}

func (e encoder) p(v *string) *string {
	if v == nil || !e {
		return v
	}
	return ptr(e.s(*v))
}

func encoding(t *string) (encoder, error) {
	switch str(t) {
	case "":
		return false, nil
	case "url":
		return true, nil
	}
	return false, errInvalidArgument("Invalid Encoding Method specified in Request")
}

// maxKeys is a listing's page size. S3 refuses a negative max-keys naming the argument;
// ListObjectVersions words it differently from the object listings.
func maxKeys(v *int32, versions bool) (int, error) {
	if v == nil {
		return 1000, nil
	}
	if *v < 0 {
		value := strconv.Itoa(int(*v))
		if versions {
			return 0, detail(awserr.New("InvalidArgument", http.StatusBadRequest, "max-keys cannot be negative"), "ArgumentName", "max-keys", "ArgumentValue", value)
		}
		return 0, detail(awserr.New("InvalidArgument", http.StatusBadRequest, "Argument maxKeys must be an integer between 0 and 2147483647"),
			"ArgumentName", "maxKeys", "ArgumentValue", value)
	}
	return min(int(*v), 1000), nil
}

func (l *listing) commonPrefixes(e encoder) []s3.CommonPrefix {
	out := make([]s3.CommonPrefix, 0, len(l.prefixes))
	for _, p := range l.prefixes {
		out = append(out, s3.CommonPrefix{Prefix: ptr(e.s(p))})
	}
	return out
}

func (l *listing) contents(e encoder, withOwner bool) []s3.Object {
	out := make([]s3.Object, 0, len(l.entries))
	for _, m := range l.entries {
		lm := m.LastModified
		o := s3.Object{Key: ptr(e.s(m.Key)), LastModified: &lm, ETag: ptr(m.ETag), Size: ptr(m.Size),
			StorageClass: ptr(storageClass(m))}
		if withOwner {
			o.Owner = owner(m.Owner)
		}
		if m.ChecksumAlgorithm != "" {
			o.ChecksumAlgorithm, o.ChecksumType = []string{m.ChecksumAlgorithm}, ptr("FULL_OBJECT")
		}
		out = append(out, o)
	}
	return out
}

// ListObjects implements s3.API (version 1: Marker and NextMarker).
func (s *Service) ListObjects(ctx context.Context, in *s3.ListObjectsRequest) (*s3.ListObjectsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	enc, err := encoding(in.EncodingType)
	if err != nil {
		return nil, err
	}
	max, err := maxKeys(in.MaxKeys, false)
	if err != nil {
		return nil, err
	}
	prefix, delim, marker := str(in.Prefix), str(in.Delimiter), str(in.Marker)
	after := marker
	if after < prefix {
		after = ""
	}
	l, err := scan(ctx, c.Tx, objBucket(b.name()), prefix, delim, after, marker, max, sameKey, false)
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectsOutput{Name: ptr(b.name()), Prefix: ptr(enc.s(prefix)), Marker: ptr(enc.s(marker)),
		Delimiter: enc.p(in.Delimiter), MaxKeys: ptr(int32(max)), IsTruncated: ptr(l.truncated),
		Contents: l.contents(enc, true), CommonPrefixes: l.commonPrefixes(enc), EncodingType: in.EncodingType}
	if l.truncated && delim != "" {
		out.NextMarker = ptr(enc.s(l.last))
	}
	return out, nil
}

// ListObjectsV2 implements s3.API (continuation tokens, StartAfter, KeyCount).
func (s *Service) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Request) (*s3.ListObjectsV2Output, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	enc, err := encoding(in.EncodingType)
	if err != nil {
		return nil, err
	}
	max, err := maxKeys(in.MaxKeys, false)
	if err != nil {
		return nil, err
	}
	prefix, delim := str(in.Prefix), str(in.Delimiter)
	marker := str(in.StartAfter)
	if in.ContinuationToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*in.ContinuationToken)
		if err != nil || len(raw) == 0 {
			return nil, errInvalidArgument("The continuation token provided is incorrect")
		}
		marker = string(raw)
	}
	after := marker
	if after < prefix {
		after = ""
	}
	l, err := scan(ctx, c.Tx, objBucket(b.name()), prefix, delim, after, marker, max, sameKey, false)
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectsV2Output{Name: ptr(b.name()), Prefix: ptr(enc.s(prefix)), Delimiter: enc.p(in.Delimiter),
		MaxKeys: ptr(int32(max)), IsTruncated: ptr(l.truncated), KeyCount: ptr(int32(len(l.entries) + len(l.prefixes))),
		Contents: l.contents(enc, in.FetchOwner != nil && *in.FetchOwner), CommonPrefixes: l.commonPrefixes(enc),
		EncodingType: in.EncodingType, ContinuationToken: in.ContinuationToken, StartAfter: enc.p(in.StartAfter)}
	if l.truncated {
		out.NextContinuationToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(l.last)))
	}
	return out, nil
}

// ListObjectVersions implements s3.API: every version and delete marker, newest first per key.
func (s *Service) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsRequest) (*s3.ListObjectVersionsOutput, error) {
	c := callOf(ctx)
	b, err := s.bucket(ctx, c, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	enc, err := encoding(in.EncodingType)
	if err != nil {
		return nil, err
	}
	max, err := maxKeys(in.MaxKeys, true)
	if err != nil {
		return nil, err
	}
	prefix, delim, keyMarker, vMarker := str(in.Prefix), str(in.Delimiter), str(in.KeyMarker), str(in.VersionIdMarker)
	var l *listing
	if !b.versioned() {
		after := keyMarker
		if after < prefix {
			after = ""
		}
		l, err = scan(ctx, c.Tx, objBucket(b.name()), prefix, delim, after, keyMarker, max, sameKey, false)
		if err != nil {
			return nil, err
		}
		for _, m := range l.entries {
			m.VersionID = "null"
		}
	} else {
		after := ""
		if keyMarker != "" {
			after = keyMarker + sep + "g" // past every version of the marker key
			if vMarker != "" {
				v, err := lookup(ctx, c.Tx, b, keyMarker, vMarker)
				if err != nil {
					return nil, err
				}
				if v == nil {
					return nil, errInvalidArgument("Invalid version id specified")
				}
				after = keyMarker + sep + v.Order
			}
		}
		if after < prefix {
			after = ""
		}
		l, err = scan(ctx, c.Tx, verBucket(b.name()), prefix, delim, after, keyMarker, max, versionKey, false)
	}
	if err != nil {
		return nil, err
	}
	latest, err := s.latestFlags(ctx, c, b, l)
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectVersionsOutput{Name: ptr(b.name()), Prefix: ptr(enc.s(prefix)), Delimiter: enc.p(in.Delimiter),
		KeyMarker: ptr(enc.s(keyMarker)), VersionIdMarker: ptr(vMarker), MaxKeys: ptr(int32(max)),
		IsTruncated: ptr(l.truncated), CommonPrefixes: l.commonPrefixes(enc), EncodingType: in.EncodingType}
	for i, m := range l.entries {
		lm := m.LastModified
		if m.DeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, s3.DeleteMarkerEntry{Owner: owner(m.Owner), Key: ptr(enc.s(m.Key)),
				VersionId: ptr(m.VersionID), IsLatest: ptr(latest[i]), LastModified: &lm})
			continue
		}
		v := s3.ObjectVersion{ETag: ptr(m.ETag), Size: ptr(m.Size),
			StorageClass: ptr(storageClass(m)), Key: ptr(enc.s(m.Key)), VersionId: ptr(m.VersionID),
			IsLatest: ptr(latest[i]), LastModified: &lm, Owner: owner(m.Owner)}
		if m.ChecksumAlgorithm != "" {
			v.ChecksumAlgorithm, v.ChecksumType = []string{m.ChecksumAlgorithm}, ptr("FULL_OBJECT")
		}
		out.Versions = append(out.Versions, v)
	}
	if l.truncated {
		out.NextKeyMarker = ptr(enc.s(l.last))
		if l.lastKV != "" && len(l.entries) > 0 {
			out.NextVersionIdMarker = ptr(l.entries[len(l.entries)-1].VersionID)
		}
	}
	return out, nil
}

// latestFlags tells for each listed version whether it is its key's newest one.
func (s *Service) latestFlags(ctx context.Context, c *call.Call, b *bucketRef, l *listing) ([]bool, error) {
	flags := make([]bool, len(l.entries))
	for i, m := range l.entries {
		if !b.versioned() {
			flags[i] = true
			continue
		}
		if i > 0 && l.entries[i-1].Key == m.Key {
			continue
		}
		rows, err := c.Tx.List(ctx, verBucket(b.name()), m.Key+sep, "", 1)
		if err != nil {
			return nil, fmt.Errorf("objects: list versions: %w", err)
		}
		flags[i] = len(rows) > 0 && rows[0].Key == m.Key+sep+m.Order
	}
	return flags, nil
}
