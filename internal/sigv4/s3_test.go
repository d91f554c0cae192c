package sigv4

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// capture is one request as the server received it, body included, for replaying through
// Verify and Body.
type capture struct {
	req  *http.Request
	body []byte
}

// replay returns a fresh server-side copy of the captured request with body as its payload.
func (c capture) replay(body []byte) *http.Request {
	r := c.req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

// s3Server is an httptest server that verifies every request with Verify and Body, keeps the
// decoded payloads, and answers the minimal valid S3 (and STS) responses clients expect.
type s3Server struct {
	*httptest.Server
	v *Verifier

	mu       sync.Mutex
	captures []capture
	modes    []string // payload mode of each request with a body
	objects  map[string][]byte
	parts    map[string][]byte // "key/partNumber" -> data
	failures []string
}

func newS3Server(t *testing.T, useTLS bool) *s3Server {
	s := &s3Server{v: testVerifier(time.Time{}), objects: map[string][]byte{}, parts: map[string][]byte{}}
	s.v.Now = time.Now
	h := http.HandlerFunc(s.serve)
	if useTLS {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *s3Server) fail(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<Error><Code>Test</Code><Message>%s</Message></Error>", msg)
}

func (s *s3Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, "read body: %v", err)
		return
	}
	c := capture{req: r.Clone(context.Background()), body: raw}
	s.mu.Lock()
	s.captures = append(s.captures, c)
	s.mu.Unlock()
	r = c.replay(raw)

	sc, err := ReadScope(r)
	if err != nil {
		s.fail(w, "%s %s: ReadScope: %v", r.Method, r.URL, err)
		return
	}
	var body []byte
	if sc.Service != "s3" {
		body = raw
	}
	res, err := s.v.Verify(r.Context(), r, body)
	if err != nil {
		s.fail(w, "%s %s: Verify: %v", r.Method, r.URL, err)
		return
	}
	if sc.Service == "sts" {
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>0b5c6d1e-1111-2222-3333-444455556666</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
		return
	}
	p, err := res.Body(r)
	if err != nil {
		s.fail(w, "%s %s: Body: %v", r.Method, r.URL, err)
		return
	}
	data, err := io.ReadAll(p)
	if err != nil {
		s.fail(w, "%s %s (%s): read payload: %v", r.Method, r.URL, res.PayloadHash, err)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(data) > 0 {
		mode := res.PayloadHash
		if isSHA256Hex(mode) {
			mode = "signed sha256"
		}
		if p.Trailer() != nil {
			for k := range p.Trailer() {
				mode += " " + strings.ToLower(k)
			}
		}
		s.modes = append(s.modes, mode)
	}
	w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	switch {
	case r.Method == "POST" && q.Has("uploads"):
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>%s</Key><UploadId>up1</UploadId></InitiateMultipartUploadResult>`, key)
	case r.Method == "POST" && q.Has("uploadId"):
		var all []byte
		for i := 1; ; i++ {
			part, ok := s.parts[fmt.Sprintf("%s/%d", key, i)]
			if !ok {
				break
			}
			all = append(all, part...)
		}
		s.objects[key] = all
		fmt.Fprintf(w, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>%s</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>`, key)
	case r.Method == "PUT" && q.Has("partNumber"):
		s.parts[key+"/"+q.Get("partNumber")] = data
	case r.Method == "PUT":
		s.objects[key] = data
	case r.Method == "GET" && q.Has("location"):
		fmt.Fprint(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)
	case r.Method == "HEAD" || r.Method == "GET":
		w.Header().Set("Content-Length", "0")
	}
}

func (s *s3Server) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failures {
		t.Errorf("server: %s", f)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func goS3Client(s *s3Server) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		UsePathStyle: true,
		Credentials:  awscreds.NewStaticCredentialsProvider(testKey, testSecret, ""),
		HTTPClient:   s.Client(),
	})
}

// TestS3ClientPayloads sends PutObject and a multipart upload from aws-sdk-go-v2's s3 client
// over HTTP and HTTPS, seekable and not, and checks that the server verified every request
// and decoded every payload exactly.
func TestS3ClientPayloads(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			s := newS3Server(t, useTLS)
			c := goS3Client(s)
			ctx := context.Background()
			small := randomBytes(t, 300<<10)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("seekable"), Body: bytes.NewReader(small)}); err != nil {
				t.Fatalf("PutObject(seekable) = %v", err)
			}
			if useTLS {
				// Unseekable bodies need a trailing checksum, which the SDK only sends over TLS.
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("stream"),
					Body: io.NopCloser(bytes.NewReader(small)), ContentLength: aws.Int64(int64(len(small))),
					ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
					t.Fatalf("PutObject(stream) = %v", err)
				}
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/ü k+y%"),
				Body: bytes.NewReader(small[:10]), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc64nvme}); err != nil {
				t.Fatalf("PutObject(odd key) = %v", err)
			}
			up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("multi")})
			if err != nil {
				t.Fatalf("CreateMultipartUpload = %v", err)
			}
			parts := [][]byte{randomBytes(t, 5<<20), randomBytes(t, 1<<20)}
			for i, p := range parts {
				if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("multi"), UploadId: up.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32c}); err != nil {
					t.Fatalf("UploadPart(%d) = %v", i+1, err)
				}
			}
			if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("multi"), UploadId: up.UploadId}); err != nil {
				t.Fatalf("CompleteMultipartUpload = %v", err)
			}
			s.check(t)
			want := map[string][]byte{"b/seekable": small, "b/dir/ü k+y%": small[:10], "b/multi": append(append([]byte{}, parts[0]...), parts[1]...)}
			if useTLS {
				want["b/stream"] = small
			}
			for k, w := range want {
				if got := s.objects[k]; !bytes.Equal(got, w) {
					t.Errorf("object %q = %d bytes; want %d bytes sent", k, len(got), len(w))
				}
			}
			t.Logf("payload modes: %q", s.modes)
		})
	}
}

// TestS3MinioPayloads uses minio-go, whose PutObject sends aws-chunked payloads: signed chunks
// over HTTP (with a signed trailer when a checksum is asked for) and an unsigned trailer over TLS.
func TestS3MinioPayloads(t *testing.T) {
	cases := []struct {
		name     string
		tls      bool
		checksum minio.ChecksumType
		wantMode string
	}{
		{"signed chunks", false, 0, StreamingPayload},
		{"signed chunks with trailer", false, minio.ChecksumCRC32C, StreamingPayloadTrailer + " x-amz-checksum-crc32c"},
		{"unsigned trailer", true, minio.ChecksumSHA256, StreamingUnsignedTrailer + " x-amz-checksum-sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newS3Server(t, c.tls)
			mc, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://"), &minio.Options{
				Creds: miniocreds.NewStaticV4(testKey, testSecret, ""), Secure: c.tls, Region: "us-east-1",
				Transport: s.Client().Transport, TrailingHeaders: true, BucketLookup: minio.BucketLookupPath,
			})
			if err != nil {
				t.Fatal(err)
			}
			data := randomBytes(t, 200<<10+123)
			opts := minio.PutObjectOptions{DisableMultipart: true}
			if c.checksum != 0 {
				opts.Checksum = c.checksum
			}
			if _, err := mc.PutObject(context.Background(), "bkt", "k", bytes.NewReader(data), int64(len(data)), opts); err != nil {
				t.Fatalf("PutObject = %v", err)
			}
			s.check(t)
			if got := s.objects["bkt/k"]; !bytes.Equal(got, data) {
				t.Errorf("object = %d bytes; want the %d bytes sent", len(got), len(data))
			}
			if len(s.modes) != 1 || s.modes[0] != c.wantMode {
				t.Errorf("payload modes = %q; want [%q]", s.modes, c.wantMode)
			}
			if c.tls {
				return
			}
			// Replay the captured request with damaged payloads.
			var put capture
			for _, cp := range s.captures {
				if cp.req.Method == "PUT" {
					put = cp
				}
			}
			for _, bad := range damagedChunkedBodies(put.body) {
				t.Run(bad.name, func(t *testing.T) {
					err := verifyAndRead(s.v, put.replay(bad.body))
					if got := codeOf(err); got != bad.code {
						t.Errorf("reading %s = %v; want %s", bad.name, err, bad.code)
					}
				})
			}
		})
	}
}

type damaged struct {
	name, code string
	body       []byte
}

// damagedChunkedBodies are versions of a valid signed aws-chunked body with one thing wrong.
func damagedChunkedBodies(body []byte) []damaged {
	var out []damaged
	i := bytes.Index(body, []byte("chunk-signature="))
	if i >= 0 {
		b := bytes.Clone(body)
		j := i + len("chunk-signature=")
		b[j] = flipHex(b[j])
		out = append(out, damaged{"bad chunk signature", "SignatureDoesNotMatch", b})
	}
	b := bytes.Clone(body)
	k := bytes.Index(b, []byte("\r\n")) + 100
	b[k] ^= 1
	out = append(out, damaged{"tampered chunk data", "SignatureDoesNotMatch", b})
	out = append(out, damaged{"truncated", "IncompleteBody", body[:len(body)/2]})
	out = append(out, damaged{"final chunk missing", "IncompleteBody", body[:bytes.LastIndex(body, []byte("0;chunk-signature"))]})
	if t := bytes.Index(body, []byte("x-amz-checksum-")); t >= 0 {
		b := bytes.Clone(body)
		v := bytes.IndexByte(b[t:], ':') + t + 1
		b[v] = flipB64(b[v])
		out = append(out, damaged{"tampered signed trailer", "SignatureDoesNotMatch", b})
	}
	return out
}

func flipHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func verifyAndRead(v *Verifier, r *http.Request) error {
	res, err := v.Verify(context.Background(), r, nil)
	if err != nil {
		return err
	}
	p, err := res.Body(r)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, p)
	return err
}

// TestS3UnsignedTrailerDamaged replays an unsigned-trailer upload with a wrong checksum.
func TestS3UnsignedTrailerDamaged(t *testing.T) {
	s := newS3Server(t, true)
	c := goS3Client(s)
	data := randomBytes(t, 100<<10)
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"),
		Body: io.NopCloser(bytes.NewReader(data)), ContentLength: aws.Int64(int64(len(data))),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatalf("PutObject = %v", err)
	}
	s.check(t)
	put := s.captures[len(s.captures)-1]
	if got := put.req.Header.Get("X-Amz-Content-Sha256"); got != StreamingUnsignedTrailer {
		t.Fatalf("captured x-amz-content-sha256 = %q; want %q", got, StreamingUnsignedTrailer)
	}
	i := bytes.Index(put.body, []byte("x-amz-checksum-crc32:")) + len("x-amz-checksum-crc32:")
	bad := bytes.Clone(put.body)
	bad[i] = flipB64(bad[i])
	if err := verifyAndRead(s.v, put.replay(bad)); codeOf(err) != "BadDigest" {
		t.Errorf("wrong trailer checksum: read = %v; want BadDigest", err)
	}
	tampered := bytes.Clone(put.body)
	tampered[bytes.Index(tampered, []byte("\r\n"))+50] ^= 1
	if err := verifyAndRead(s.v, put.replay(tampered)); codeOf(err) != "BadDigest" {
		t.Errorf("tampered data: read = %v; want BadDigest", err)
	}
	if err := verifyAndRead(s.v, put.replay(put.body[:len(put.body)-40])); codeOf(err) != "IncompleteBody" {
		t.Errorf("truncated: read = %v; want IncompleteBody", err)
	}
}

// TestS3SignedBodyMismatch checks a single-chunk signed payload against its hash.
func TestS3SignedBodyMismatch(t *testing.T) {
	body := []byte("the signed body")
	r := serverSide(t, signed(t, "PUT", "http://127.0.0.1:1/b/k", "s3", "us-east-1", body, when, nil))
	if err := verifyAndRead(testVerifier(when), r); err != nil {
		t.Fatalf("valid body: %v", err)
	}
	r = serverSide(t, signed(t, "PUT", "http://127.0.0.1:1/b/k", "s3", "us-east-1", body, when, nil))
	r.Body = io.NopCloser(strings.NewReader("the other body"))
	if err := verifyAndRead(testVerifier(when), r); codeOf(err) != "XAmzContentSHA256Mismatch" {
		t.Errorf("other body: read = %v; want XAmzContentSHA256Mismatch", err)
	}
}

// TestChunkedAWSExample is the worked example of AWS's "Transferring payload in multiple
// chunks" page: 65 KiB of 'a' in a 64 KiB and a 1 KiB chunk.
func TestChunkedAWSExample(t *testing.T) {
	body := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	mk := func(body string) *http.Request {
		r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", strings.NewReader(body))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("Content-Length", "66824")
		return r
	}
	v := testVerifier(time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC))
	r := mk(body)
	res, err := v.Verify(context.Background(), r, nil)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	p, err := res.Body(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(p)
	if err != nil || string(got) != strings.Repeat("a", 66560) {
		t.Errorf("Body = %d bytes, %v; want 66560 'a'", len(got), err)
	}
	for _, bad := range damagedChunkedBodies([]byte(body)) {
		if err := verifyAndRead(v, mk(string(bad.body))); codeOf(err) != bad.code {
			t.Errorf("%s: read = %v; want %s", bad.name, err, bad.code)
		}
	}
	// Chunks in a different order than signed: the signature chain breaks.
	swapped := "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	if err := verifyAndRead(v, mk(swapped)); codeOf(err) != "SignatureDoesNotMatch" {
		t.Errorf("swapped chunks: read = %v; want SignatureDoesNotMatch", err)
	}
}

// TestPresignS3 checks GET and PUT URLs from aws-sdk-go-v2's s3 PresignClient, their expiry,
// and S3's limits on X-Amz-Expires.
func TestPresignS3(t *testing.T) {
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9000"), UsePathStyle: true,
		Credentials: awscreds.NewStaticCredentialsProvider(testKey, testSecret, "")})
	pc := s3.NewPresignClient(c)
	ctx := context.Background()
	start := time.Now()
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/a b+ü.txt"),
		ResponseContentDisposition: aws.String("attachment; filename=x.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("up.bin"),
		ContentType: aws.String("application/octet-stream")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(p string, method string, hdr http.Header, body []byte) *http.Request {
		r, err := http.NewRequest(method, p, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if !strings.EqualFold(k, "host") {
				r.Header[k] = v
			}
		}
		return serverSide(t, r)
	}
	for _, tc := range []struct {
		name     string
		url      string
		method   string
		hdr      http.Header
		now      time.Time
		wantCode string
	}{
		{"get", get.URL, "GET", get.SignedHeader, start.Add(time.Minute), ""},
		{"get expired", get.URL, "GET", get.SignedHeader, start.Add(11 * time.Minute), "AccessDenied"},
		{"get tampered key", strings.Replace(get.URL, "a%20b", "a%20c", 1), "GET", get.SignedHeader, start, "SignatureDoesNotMatch"},
		{"get tampered response header", strings.Replace(get.URL, "x.txt", "y.txt", 1), "GET", get.SignedHeader, start, "SignatureDoesNotMatch"},
		{"get future", get.URL, "GET", get.SignedHeader, start.Add(-time.Hour), "AccessDenied"},
		{"put", put.URL, "PUT", put.SignedHeader, start.Add(59 * time.Minute), ""},
		{"put other content type", put.URL, "PUT", http.Header{"Content-Type": {"text/html"}}, start, "SignatureDoesNotMatch"},
		{"put unsigned x-amz header", put.URL, "PUT", http.Header{"Content-Type": {"application/octet-stream"}, "X-Amz-Acl": {"public-read"}}, start, "AccessDenied"},
		{"expires too long", strings.Replace(put.URL, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1), "PUT", put.SignedHeader, start, "AuthorizationQueryParametersError"},
		{"expires negative", strings.Replace(put.URL, "X-Amz-Expires=3600", "X-Amz-Expires=-1", 1), "PUT", put.SignedHeader, start, "AuthorizationQueryParametersError"},
		{"no signed headers", strings.Replace(put.URL, "X-Amz-SignedHeaders=", "X-Other=", 1), "PUT", put.SignedHeader, start, "AuthorizationQueryParametersError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mk(tc.url, tc.method, tc.hdr, []byte("payload"))
			sc, err := ReadScope(r)
			if tc.wantCode == "" && (err != nil || !sc.Presigned || sc.Service != "s3") {
				t.Fatalf("ReadScope = %+v, %v; want presigned s3", sc, err)
			}
			err = verifyAndRead(testVerifier(tc.now), r)
			if got := codeOf(err); got != tc.wantCode {
				t.Errorf("Verify = %v; want code %q", err, tc.wantCode)
			}
		})
	}
}
