package objects

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
)

// crc64NVMETable is CRC-64/NVME in the reflected form hash/crc64 takes.
var crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// newChecksum returns the hash of one of S3's additional checksum algorithms.
func newChecksum(alg string) (hash.Hash, bool) {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE(), true
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), true
	case "CRC64NVME":
		return crc64.New(crc64NVMETable), true
	case "SHA1":
		return sha1.New(), true
	case "SHA256":
		return sha256.New(), true
	case "SHA512":
		return sha512.New(), true
	case "MD5":
		return md5.New(), true
	}
	return nil, false
}

// checksums are the x-amz-checksum-* values of a request or an answer: base64 of the
// big-endian digest.
type checksums struct {
	CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, XXHASH128 *string
}

func (c *checksums) fields() map[string]**string {
	return map[string]**string{"CRC32": &c.CRC32, "CRC32C": &c.CRC32C, "CRC64NVME": &c.CRC64NVME, "SHA1": &c.SHA1,
		"SHA256": &c.SHA256, "SHA512": &c.SHA512, "MD5": &c.MD5, "XXHASH64": &c.XXHASH64, "XXHASH3": &c.XXHASH3, "XXHASH128": &c.XXHASH128}
}

// answer is the one checksum an object carries, for an output's Checksum* members.
func answer(alg, value string) checksums {
	var c checksums
	if p, ok := c.fields()[alg]; ok && value != "" {
		*p = &value
	}
	return c
}

// checksum computes and checks the additional checksum of a payload, as S3 does: a value
// in an x-amz-checksum-* header must match the bytes (BadDigest otherwise); an algorithm
// named alone (x-amz-sdk-checksum-algorithm, its value having come in a trailer that
// signature verification checked) is computed. It returns the algorithm and value to
// keep, or "" when the request names none.
func (b *body) checksum(algorithm *string, given checksums) (alg, value string, err error) {
	var want string
	n := 0
	for a, p := range given.fields() {
		if *p != nil {
			alg, want = a, **p
			n++
		}
	}
	if n > 1 {
		return "", "", awserr.New("InvalidRequest", http.StatusBadRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	if n == 0 {
		alg = strings.ToUpper(str(algorithm))
		if alg == "" {
			return "", "", nil
		}
	} else if a := strings.ToUpper(str(algorithm)); a != "" && a != alg {
		return "", "", awserr.New("InvalidRequest", http.StatusBadRequest,
			"Value for x-amz-sdk-checksum-algorithm header is invalid.")
	}
	h, ok := newChecksum(alg)
	if !ok {
		return "", "", awserr.New("NotImplemented", http.StatusNotImplemented,
			"A header you provided implies functionality that is not implemented: the %s checksum", alg)
	}
	if b.spool != nil {
		if _, err := b.spool.Seek(0, io.SeekStart); err != nil {
			return "", "", fmt.Errorf("objects: checksum: %w", err)
		}
		if _, err := io.Copy(h, b.spool.File); err != nil {
			return "", "", fmt.Errorf("objects: checksum: %w", err)
		}
	} else {
		h.Write(b.data)
	}
	value = base64.StdEncoding.EncodeToString(h.Sum(nil))
	if n == 1 && want != value {
		if _, err := base64.StdEncoding.DecodeString(want); err != nil || len(want) != len(value) {
			return "", "", awserr.New("InvalidRequest", http.StatusBadRequest,
				"Value for x-amz-checksum-%s header is invalid.", strings.ToLower(alg))
		}
		return "", "", awserr.New("BadDigest", http.StatusBadRequest, "The %s you specified did not match the calculated checksum.", alg)
	}
	return alg, value, nil
}
