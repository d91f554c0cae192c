package restxml

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Dechunk returns the payload of rd without its aws-chunked framing when r says the body is
// aws-chunked (Content-Encoding aws-chunked, or a STREAMING-* x-amz-content-sha256); the
// chunk signatures and trailers are left to signature verification, which reads the headers.
func Dechunk(r *http.Request, rd io.Reader) io.Reader {
	chunked := strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	for _, ce := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(ce) == "aws-chunked" {
			chunked = true
		}
	}
	if !chunked {
		return rd
	}
	return &chunkReader{br: bufio.NewReader(rd)}
}

type chunkReader struct {
	br   *bufio.Reader
	left int64
	done bool
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		if _, err2 := c.br.Discard(2); err2 != nil { // the chunk's CRLF
			c.err = fmt.Errorf("restxml: aws-chunked body: %w", err2)
		}
	}
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads a chunk header; a zero-size chunk ends the body (trailers are skipped).
func (c *chunkReader) next() error {
	line, err := c.br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("restxml: aws-chunked header: %w", io.ErrUnexpectedEOF)
	}
	size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("restxml: aws-chunked size %q", size)
	}
	if n == 0 {
		c.done = true
		for {
			l, err := c.br.ReadString('\n')
			if err != nil || strings.TrimSpace(l) == "" {
				return nil
			}
		}
	}
	c.left = n
	return nil
}
