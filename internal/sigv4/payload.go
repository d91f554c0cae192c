package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/bannin/bannin/internal/awserr"
)

// crc64NVME is the reflected CRC-64/NVME polynomial, the form hash/crc64 takes.
const crc64NVME = 0x9a6c9329ac4bc9b5

var crc64NVMETable = crc64.MakeTable(crc64NVME)

// maxChunkLine bounds a chunk header or trailer line, so a client cannot make the decoder
// buffer without limit.
const maxChunkLine = 4096

// Payload reads an S3 request payload and checks it against what was signed. Bytes may be
// returned before the check that covers them (a chunk's signature, the whole body's hash or a
// trailing checksum) has run: a read that fails means the whole payload is rejected, and the
// caller must not act on it. The error is an awserr.Coded value.
type Payload struct {
	r       io.Reader
	trailer http.Header
}

func (p *Payload) Read(b []byte) (int, error) { return p.r.Read(b) }

// Trailer returns the trailing headers of an aws-chunked payload (its x-amz-checksum-*),
// once Read has returned io.EOF; nil for other payloads.
func (p *Payload) Trailer() http.Header { return p.trailer }

// Body returns a reader of the S3 payload of r that checks it against what was signed: a
// signed single-chunk body against its SHA-256 at EOF, an unsigned body as it is, and an
// aws-chunked body decoded with each chunk signature and the trailing checksum verified.
func (res *Result) Body(r *http.Request) (*Payload, error) {
	p := &Payload{}
	body := io.Reader(r.Body)
	if body == nil {
		body = http.NoBody
	}
	switch res.PayloadHash {
	case UnsignedPayload:
		p.r = &lengthChecker{r: body}
		return p, nil
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return res.chunked(r, body, p)
	}
	if !isSHA256Hex(res.PayloadHash) {
		return nil, errBadContentSHA256()
	}
	want, _ := hex.DecodeString(res.PayloadHash)
	p.r = &hashChecker{r: &lengthChecker{r: body}, h: sha256.New(), want: want}
	return p, nil
}

// lengthChecker turns a body that ends before its Content-Length into IncompleteBody.
type lengthChecker struct{ r io.Reader }

func (l *lengthChecker) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if err != nil && err != io.EOF {
		if _, ok := awserr.As(err); !ok {
			return n, errIncompleteBody()
		}
	}
	return n, err
}

// hashChecker checks a body's SHA-256 at EOF.
type hashChecker struct {
	r    io.Reader
	h    hash.Hash
	want []byte
	err  error
}

func (c *hashChecker) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(b)
	c.h.Write(b[:n])
	if err == io.EOF && !hmac.Equal(c.h.Sum(nil), c.want) {
		c.err = errContentSHA256Mismatch()
		return n, c.err
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// checksumHash returns the hash that an x-amz-checksum-<algorithm> trailer names.
func checksumHash(name string) (hash.Hash, bool) {
	switch strings.TrimPrefix(strings.ToLower(name), "x-amz-checksum-") {
	case "crc32":
		return crc32.NewIEEE(), true
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), true
	case "crc64nvme":
		return crc64.New(crc64NVMETable), true
	case "sha1":
		return sha1.New(), true
	case "sha256":
		return sha256.New(), true
	}
	return nil, false
}

func (res *Result) chunked(r *http.Request, body io.Reader, p *Payload) (*Payload, error) {
	d := &chunkDecoder{
		br:      bufio.NewReaderSize(body, 64<<10),
		res:     res,
		signed:  res.Streaming != StreamingUnsignedTrailer,
		trailer: res.Streaming != StreamingPayload,
		prevSig: res.signature,
		decoded: -1,
		payload: p,
	}
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errS3("InvalidArgument", http.StatusBadRequest, "x-amz-decoded-content-length must be a non-negative number")
		}
		d.decoded = n
	}
	if d.trailer {
		names := r.Header.Values("X-Amz-Trailer")
		for _, v := range names {
			for _, name := range strings.Split(v, ",") {
				name = strings.ToLower(strings.TrimSpace(name))
				if name == "" {
					continue
				}
				h, ok := checksumHash(name)
				if !ok || d.sumName != "" {
					return nil, errS3("InvalidRequest", http.StatusBadRequest,
						"The value specified in the x-amz-trailer header is not supported")
				}
				d.sumName, d.sum = name, h
			}
		}
		if d.sumName == "" {
			return nil, errS3("InvalidRequest", http.StatusBadRequest,
				"The x-amz-trailer header is required for a payload with trailing headers")
		}
	}
	p.r = d
	return p, nil
}

// chunkDecoder decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n<trailers>\r\n
//
// verifying chunk signatures (chained from the request's seed signature), the declared
// decoded length and the trailing checksum.
type chunkDecoder struct {
	br      *bufio.Reader
	res     *Result
	signed  bool
	trailer bool
	prevSig string
	decoded int64 // x-amz-decoded-content-length, -1 when absent
	payload *Payload

	sumName string
	sum     hash.Hash

	left     int64     // bytes of the current chunk still to read
	chunkSig string    // the current chunk's signature
	chunkSum hash.Hash // SHA-256 of the current chunk's data
	total    int64
	err      error
}

func (d *chunkDecoder) Read(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	for d.left == 0 {
		done, err := d.nextChunk()
		if err != nil {
			d.err = err
			return 0, err
		}
		if done {
			d.err = io.EOF
			return 0, io.EOF
		}
	}
	if int64(len(b)) > d.left {
		b = b[:d.left]
	}
	n, err := d.br.Read(b)
	d.left -= int64(n)
	d.total += int64(n)
	if d.chunkSum != nil {
		d.chunkSum.Write(b[:n])
	}
	if d.sum != nil {
		d.sum.Write(b[:n])
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF || (err != nil && d.left > 0) {
		d.err = errIncompleteBody()
		return n, d.err
	}
	if err != nil {
		d.err = err
		return n, err
	}
	if d.left == 0 {
		if err := d.endChunk(); err != nil {
			d.err = err
			return n, err
		}
	}
	return n, nil
}

// endChunk checks the CRLF after a chunk's data and its signature.
func (d *chunkDecoder) endChunk() error {
	if err := d.expectCRLF(); err != nil {
		return err
	}
	return d.checkChunkSig()
}

func (d *chunkDecoder) checkChunkSig() error {
	if !d.signed {
		return nil
	}
	sum := emptySHA256
	if d.chunkSum != nil {
		sum = hex.EncodeToString(d.chunkSum.Sum(nil))
	}
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + d.res.amzDate + "\n" + d.res.scopeStr + "\n" + d.prevSig + "\n" + emptySHA256 + "\n" + sum
	got := hmacSHA256(d.res.signingKey, sts)
	want, err := hex.DecodeString(d.chunkSig)
	if err != nil || !hmac.Equal(got, want) {
		return errSignature(famS3)
	}
	d.prevSig = d.chunkSig
	return nil
}

// nextChunk reads a chunk header; at the final chunk it reads the trailers and finishes.
func (d *chunkDecoder) nextChunk() (done bool, err error) {
	line, err := d.readLine()
	if err != nil {
		return false, err
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if err != nil || size < 0 {
		return false, errS3("IncompleteBody", http.StatusBadRequest, "The chunk header is malformed: "+strconv.Quote(line))
	}
	d.chunkSig = ""
	if d.signed {
		k, v, _ := strings.Cut(ext, "=")
		if strings.TrimSpace(k) != "chunk-signature" || v == "" {
			return false, errSignature(famS3)
		}
		d.chunkSig = strings.TrimSpace(v)
		d.chunkSum = sha256.New()
	}
	if d.decoded >= 0 && d.total+size > d.decoded {
		return false, errIncompleteBody()
	}
	if size > 0 {
		d.left = size
		return false, nil
	}
	// The final, empty chunk.
	d.chunkSum = nil
	if err := d.checkChunkSig(); err != nil {
		return false, err
	}
	if d.decoded >= 0 && d.total != d.decoded {
		return false, errIncompleteBody()
	}
	if !d.trailer {
		if err := d.expectCRLF(); err != nil {
			return false, err
		}
		return true, nil
	}
	return true, d.readTrailers()
}

// readTrailers reads trailing headers up to the empty line and checks the checksum they
// carry and, for signed payloads, their x-amz-trailer-signature.
func (d *chunkDecoder) readTrailers() error {
	trailer := http.Header{}
	var lines []string
	sig := ""
	blank := 0
	for {
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			// minio-go puts an empty line between the trailers and their signature; the
			// trailer section of a signed payload ends after the signature.
			blank++
			if d.signed && sig == "" && len(lines) > 0 && blank == 1 {
				continue
			}
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return errS3("MalformedTrailerError", http.StatusBadRequest,
				"The request contained trailing data that was not well-formed or did not conform to our published schema.")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if k == "x-amz-trailer-signature" {
			sig = v
			continue
		}
		trailer.Add(k, v)
		lines = append(lines, k+":"+v+"\n")
	}
	if d.signed {
		sort.Strings(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "")))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + d.res.amzDate + "\n" + d.res.scopeStr + "\n" + d.prevSig + "\n" + hex.EncodeToString(sum[:])
		want, err := hex.DecodeString(sig)
		if err != nil || !hmac.Equal(hmacSHA256(d.res.signingKey, sts), want) {
			return errSignature(famS3)
		}
	}
	got := trailer.Get(d.sumName)
	if got == "" {
		return errS3("InvalidRequest", http.StatusBadRequest,
			"The trailing header "+d.sumName+" declared in x-amz-trailer is missing.")
	}
	want := base64.StdEncoding.EncodeToString(d.sum.Sum(nil))
	if got != want {
		return errBadDigest(strings.TrimPrefix(d.sumName, "x-amz-checksum-"))
	}
	d.payload.trailer = trailer
	return nil
}

// readLine reads one CRLF- (or LF-) terminated line, bounded by maxChunkLine.
func (d *chunkDecoder) readLine() (string, error) {
	var buf []byte
	for {
		frag, err := d.br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > maxChunkLine {
			return "", errS3("IncompleteBody", http.StatusBadRequest, "A chunk header or trailer line is too long")
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", errIncompleteBody()
		}
		return "", fmt.Errorf("sigv4: read chunk: %w", err)
	}
	s := strings.TrimSuffix(string(buf), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

func (d *chunkDecoder) expectCRLF() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	if line != "" {
		return errS3("IncompleteBody", http.StatusBadRequest, "A chunk is longer than its declared size")
	}
	return nil
}
