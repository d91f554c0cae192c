package objects

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/bannin/bannin/internal/call"
	"github.com/bannin/bannin/internal/store"
)

// Key-value layout. Object keys are the KV keys, so the store's key order is S3's listing
// order.
//
//	s3obj/<bucket>   <key>                   current version of each live object
//	s3ver/<bucket>   <key>\x00<order>        every version and delete marker, newest first per
//	                                         key (only once versioning has been enabled)
//	s3mpu/<bucket>   <key>\x00<upload id>    multipart uploads in progress
//	s3part/<upload>  <part number, 5 digits> uploaded parts
//	s3gc             <blob id>               bytes no longer referenced, for Sweep
func objBucket(b string) string       { return "s3obj/" + b }
func verBucket(b string) string       { return "s3ver/" + b }
func mpuBucket(b string) string       { return "s3mpu/" + b }
func partBucket(upload string) string { return "s3part/" + upload }

const gcBucket = "s3gc"

// sep separates an object key from its version order or upload ID in KV keys; it sorts
// before every character a key can continue with.
const sep = "\x00"

// blobRef is one stretch of an object's bytes: a whole object, or one part of a multipart one.
type blobRef struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// objectMeta is one object version as stored.
type objectMeta struct {
	Key string `json:"key"`
	// VersionID is "" in a bucket that never had versioning and "null" for the null version.
	VersionID    string    `json:"versionId,omitempty"`
	Order        string    `json:"order,omitempty"`
	DeleteMarker bool      `json:"deleteMarker,omitempty"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	LastModified time.Time `json:"lastModified"`
	Owner        string    `json:"owner"`

	ContentType             string            `json:"contentType,omitempty"`
	CacheControl            string            `json:"cacheControl,omitempty"`
	ContentDisposition      string            `json:"contentDisposition,omitempty"`
	ContentEncoding         string            `json:"contentEncoding,omitempty"`
	ContentLanguage         string            `json:"contentLanguage,omitempty"`
	Expires                 string            `json:"expires,omitempty"`
	WebsiteRedirectLocation string            `json:"websiteRedirectLocation,omitempty"`
	Metadata                map[string]string `json:"metadata,omitempty"`
	Tags                    map[string]string `json:"tags,omitempty"`
	StorageClass            string            `json:"storageClass,omitempty"`
	SSE                     string            `json:"sse,omitempty"`
	SSEKMSKeyID             string            `json:"sseKmsKeyId,omitempty"`
	BucketKeyEnabled        bool              `json:"bucketKeyEnabled,omitempty"`
	// ChecksumAlgorithm and Checksum are the additional checksum the object was written
	// with (CRC32, SHA256...; base64 of the digest), if any.
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	Checksum          string `json:"checksum,omitempty"`

	Blobs []blobRef `json:"blobs,omitempty"`
	// Parts is the number of parts of an object made by multipart upload.
	Parts int `json:"parts,omitempty"`
}

// wireVersion is the version ID an answer carries: none for a bucket without versioning.
func (m *objectMeta) wireVersion() *string { return opt(m.VersionID) }

func storageClass(m *objectMeta) string {
	if m.StorageClass == "" {
		return "STANDARD"
	}
	return m.StorageClass
}

func decodeMeta(b []byte) (*objectMeta, error) {
	m := &objectMeta{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("objects: decode object: %w", err)
	}
	return m, nil
}

// current returns the live current version of key, or nil.
func current(ctx context.Context, tx store.ReadTx, bucket, key string) (*objectMeta, error) {
	v, err := tx.Get(ctx, objBucket(bucket), key)
	if err != nil || v == nil {
		return nil, err
	}
	return decodeMeta(v)
}

// versions returns every stored version of key, newest first.
func versions(ctx context.Context, tx store.ReadTx, bucket, key string) ([]*objectMeta, error) {
	var out []*objectMeta
	after := ""
	for {
		rows, err := tx.List(ctx, verBucket(bucket), key+sep, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("objects: versions of %s: %w", key, err)
		}
		for _, r := range rows {
			m, err := decodeMeta(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		if len(rows) < 1000 {
			return out, nil
		}
		after = rows[len(rows)-1].Key
	}
}

// lookup finds the version of key a request names: the current one when versionID is "".
func lookup(ctx context.Context, tx store.ReadTx, b *bucketRef, key, versionID string) (*objectMeta, error) {
	if versionID == "" {
		return current(ctx, tx, b.name(), key)
	}
	if !b.versioned() {
		if versionID != "null" {
			return nil, nil
		}
		return current(ctx, tx, b.name(), key)
	}
	vs, err := versions(ctx, tx, b.name(), key)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.VersionID == versionID {
			return v, nil
		}
	}
	return nil, nil
}

func putJSON(ctx context.Context, tx store.Tx, bucket, key string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("objects: encode %s: %w", key, err)
	}
	if err := tx.Put(ctx, bucket, key, doc); err != nil {
		return fmt.Errorf("objects: put %s: %w", key, err)
	}
	return nil
}

// order returns a version sort key that puts a version written at t before (newer than)
// every stored version of key.
func nextOrder(ctx context.Context, tx store.ReadTx, bucket, key string, t time.Time) (string, error) {
	o := uint64(math.MaxInt64 - t.UnixNano())
	rows, err := tx.List(ctx, verBucket(bucket), key+sep, "", 1)
	if err != nil {
		return "", fmt.Errorf("objects: order %s: %w", key, err)
	}
	if len(rows) > 0 {
		m, err := decodeMeta(rows[0].Value)
		if err != nil {
			return "", err
		}
		if top, err := strconv.ParseUint(m.Order, 16, 64); err == nil && o >= top {
			o = top - 1
		}
	}
	return fmt.Sprintf("%016x", o), nil
}

// discard queues blobs for removal once the transaction has committed and the grace period
// has passed (see Sweep).
func (s *Service) discard(ctx context.Context, tx store.Tx, c *call.Call, refs []blobRef) error {
	for _, r := range refs {
		if err := putJSON(ctx, tx, gcBucket, r.ID, c.Time.UTC()); err != nil {
			return err
		}
	}
	return nil
}

// write makes m the newest version of its key, as the bucket's versioning state says: it
// replaces the object in a bucket without versioning, adds a version when versioning is
// enabled, and replaces the null version when it is suspended. It sets m.VersionID and
// m.Order. A delete marker removes the key from the current listing.
func (s *Service) write(ctx context.Context, tx store.Tx, c *call.Call, b *bucketRef, m *objectMeta) error {
	bn := b.name()
	old, err := current(ctx, tx, bn, m.Key)
	if err != nil {
		return err
	}
	if !b.versioned() {
		m.VersionID, m.Order = "", ""
		if old != nil {
			if err := s.discard(ctx, tx, c, old.Blobs); err != nil {
				return err
			}
		}
		if m.DeleteMarker {
			return tx.Delete(ctx, objBucket(bn), m.Key)
		}
		return putJSON(ctx, tx, objBucket(bn), m.Key, m)
	}
	if b.cfg.Versioning == "Suspended" {
		m.VersionID = "null"
		vs, err := versions(ctx, tx, bn, m.Key)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.VersionID == "null" {
				if err := tx.Delete(ctx, verBucket(bn), v.Key+sep+v.Order); err != nil {
					return fmt.Errorf("objects: replace null version of %s: %w", m.Key, err)
				}
				if err := s.discard(ctx, tx, c, v.Blobs); err != nil {
					return err
				}
			}
		}
	} else {
		m.VersionID = newVersionID()
	}
	if m.Order, err = nextOrder(ctx, tx, bn, m.Key, c.Time); err != nil {
		return err
	}
	if err := putJSON(ctx, tx, verBucket(bn), m.Key+sep+m.Order, m); err != nil {
		return err
	}
	if m.DeleteMarker {
		return tx.Delete(ctx, objBucket(bn), m.Key)
	}
	return putJSON(ctx, tx, objBucket(bn), m.Key, m)
}

// removeVersion deletes one version for good and makes the next newest one current.
func (s *Service) removeVersion(ctx context.Context, tx store.Tx, c *call.Call, b *bucketRef, v *objectMeta) error {
	bn := b.name()
	if !b.versioned() {
		if err := tx.Delete(ctx, objBucket(bn), v.Key); err != nil {
			return fmt.Errorf("objects: delete %s: %w", v.Key, err)
		}
		return s.discard(ctx, tx, c, v.Blobs)
	}
	if err := tx.Delete(ctx, verBucket(bn), v.Key+sep+v.Order); err != nil {
		return fmt.Errorf("objects: delete version of %s: %w", v.Key, err)
	}
	if err := s.discard(ctx, tx, c, v.Blobs); err != nil {
		return err
	}
	rows, err := tx.List(ctx, verBucket(bn), v.Key+sep, "", 1)
	if err != nil {
		return fmt.Errorf("objects: delete version of %s: %w", v.Key, err)
	}
	if len(rows) == 0 {
		return tx.Delete(ctx, objBucket(bn), v.Key)
	}
	top, err := decodeMeta(rows[0].Value)
	if err != nil {
		return err
	}
	if top.DeleteMarker {
		return tx.Delete(ctx, objBucket(bn), v.Key)
	}
	return putJSON(ctx, tx, objBucket(bn), v.Key, top)
}

// enableVersions moves the objects of a bucket that never had versioning into the version
// index as null versions, the first time versioning is enabled.
func (s *Service) enableVersions(ctx context.Context, tx store.Tx, bucket string) error {
	after := ""
	for {
		rows, err := tx.List(ctx, objBucket(bucket), "", after, 1000)
		if err != nil {
			return fmt.Errorf("objects: enable versioning on %s: %w", bucket, err)
		}
		for _, r := range rows {
			m, err := decodeMeta(r.Value)
			if err != nil {
				return err
			}
			m.VersionID = "null"
			m.Order = fmt.Sprintf("%016x", uint64(math.MaxInt64-m.LastModified.UnixNano()))
			if err := putJSON(ctx, tx, objBucket(bucket), m.Key, m); err != nil {
				return err
			}
			if err := putJSON(ctx, tx, verBucket(bucket), m.Key+sep+m.Order, m); err != nil {
				return err
			}
		}
		if len(rows) < 1000 {
			return nil
		}
		after = rows[len(rows)-1].Key
	}
}

// newVersionID returns an opaque version ID like S3's (32 URL-safe characters).
func newVersionID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b)
}
