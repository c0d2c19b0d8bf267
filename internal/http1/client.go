package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// ErrUnknownLength is WriteRequest's answer to a body of unknown length, which it does not
// frame (chunked request bodies are left to net/http's writer).
var ErrUnknownLength = errors.New("http1: request body of unknown length")

// BytesBody is a request body held in memory. WriteRequest writes it as it is, where any
// other body is copied through a reader.
type BytesBody struct {
	b   []byte
	off int
}

// NewBytesBody returns a body that reads b (which it does not copy: b must not change while
// the request is in use).
func NewBytesBody(b []byte) *BytesBody { return &BytesBody{b: b} }

// Read implements io.Reader.
func (r *BytesBody) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// Close implements io.Closer; it does nothing.
func (r *BytesBody) Close() error { return nil }

// WriteRequest writes req to bw (without flushing): the request line, Host, req.Header's
// fields, Content-Length and the body, which must have a known length (req.ContentLength;
// http.NoBody or nil for none). A field name or value that would break the head is an
// error, and nothing is written. It does not close req.Body.
func WriteRequest(bw *bufio.Writer, req *http.Request) error {
	if req.URL == nil {
		return errors.New("http1: request without a URL")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	switch {
	case !validFieldName(method):
		return fmt.Errorf("http1: invalid method %q", method)
	case !validHost(host):
		return fmt.Errorf("http1: invalid host %q", host)
	case hasBody && req.ContentLength <= 0:
		return ErrUnknownLength
	}
	for k, vs := range req.Header {
		if !validFieldName(k) {
			return fmt.Errorf("http1: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return fmt.Errorf("http1: invalid header field value for %q", k)
			}
		}
	}
	uri := req.URL.RequestURI()
	if strings.ContainsAny(uri, " \r\n") {
		return fmt.Errorf("http1: invalid request target %q", uri)
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if _, ok := req.Header["User-Agent"]; !ok {
		bw.WriteString("User-Agent: gatehouse\r\n")
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			continue // written from the request's own fields
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if hasBody || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), max(req.ContentLength, 0), 10))
		bw.WriteString("\r\n")
	}
	if req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if bb, ok := req.Body.(*BytesBody); ok && int64(len(bb.b)-bb.off) == req.ContentLength {
		bw.Write(bb.b[bb.off:])
		bb.off = len(bb.b)
		return nil
	}
	if hasBody {
		n, err := io.CopyN(bw, req.Body, req.ContentLength)
		if err != nil {
			return fmt.Errorf("http1: request body: %d of %d bytes: %w", n, req.ContentLength, err)
		}
	}
	return nil
}

// ResponseReader reads HTTP/1.x responses from one connection, reusing its scratch space
// from one response to the next.
type ResponseReader struct {
	br     *bufio.Reader
	head   []byte
	parser parser
	// MaxHeaderBytes bounds a response head; 0 means 1 MiB.
	MaxHeaderBytes int
}

// NewResponseReader reads responses from br.
func NewResponseReader(br *bufio.Reader) *ResponseReader { return &ResponseReader{br: br} }

// Reset makes r read from br, keeping its scratch space.
func (r *ResponseReader) Reset(br *bufio.Reader) { r.br = br }

// Read reads the next final response (skipping informational ones) to a request of method
// req.Method. Its body reads from the connection: Content-Length bytes, a chunked body, or,
// without either, everything until the connection ends (then resp.Close is set). A
// response that HTTP parsers could read two ways (Content-Length with Transfer-Encoding,
// differing lengths, a coding other than chunked, malformed fields) is an error.
func (r *ResponseReader) Read(req *http.Request) (*http.Response, error) {
	max := r.MaxHeaderBytes
	if max <= 0 {
		max = 1 << 20
	}
	for {
		r.head = r.head[:0]
		for {
			start := len(r.head)
			for {
				frag, err := r.br.ReadSlice('\n')
				if len(r.head)+len(frag) > max {
					return nil, fmt.Errorf("http1: response head exceeds %d bytes", max)
				}
				r.head = append(r.head, frag...)
				if err == bufio.ErrBufferFull {
					continue
				}
				if err != nil {
					if err == io.EOF && len(r.head) > 0 {
						err = io.ErrUnexpectedEOF
					}
					return nil, err
				}
				break
			}
			if line := r.head[start:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
				break // the empty line (first, it is a malformed status line)
			}
		}
		resp, err := r.parse(req.Method)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Request = req
			return resp, nil
		}
		// 100 Continue, 103 Early Hints: the final response follows.
	}
}

// parse parses the response head in r.head and frames its body.
func (r *ResponseReader) parse(method string) (*http.Response, error) {
	b := r.head
	line, rest, ok := cutLine(b)
	if !ok || len(line) < len("HTTP/1.1 200") {
		return nil, malformed("status line")
	}
	minor := 0
	switch string(line[:9]) {
	case "HTTP/1.1 ":
		minor = 1
	case "HTTP/1.0 ":
	default:
		return nil, malformed("status line")
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, malformed("status code")
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || len(line) > 12 && line[12] != ' ' {
		return nil, malformed("status code")
	}
	for _, c := range line[12:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, malformed("reason phrase")
		}
	}
	if herr := r.parser.fields(b, len(b)-len(rest)); herr != nil {
		return nil, malformed(herr.msg)
	}
	s := string(b)
	resp := &http.Response{
		Status:     strings.TrimSpace(s[9:len(line)]),
		StatusCode: code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: minor,
		Header:     r.parser.header(s),
	}
	if minor == 0 {
		resp.Proto = "HTTP/1.0"
	}
	conn := resp.Header["Connection"]
	resp.Close = hasToken(conn, "close") || minor == 0 && !hasToken(conn, "keep-alive")

	// RFC 9112 §6.3, strictly.
	te, hasTE := resp.Header["Transfer-Encoding"]
	cl, hasCL := resp.Header["Content-Length"]
	length := int64(-1)
	if hasCL {
		for _, v := range cl {
			n, ok := parseLength(v)
			if !ok || length >= 0 && n != length {
				return nil, malformed("Content-Length")
			}
			length = n
		}
	}
	switch {
	case hasTE && hasCL:
		return nil, malformed("both Transfer-Encoding and Content-Length")
	case hasTE && (minor == 0 || len(te) != 1 || !strings.EqualFold(te[0], "chunked")):
		return nil, malformed("Transfer-Encoding (only chunked is supported)")
	}
	switch {
	case method == http.MethodHead || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified:
		resp.Body = http.NoBody
		resp.ContentLength = 0
		if method == http.MethodHead {
			resp.ContentLength = length
		}
	case hasTE:
		resp.TransferEncoding = []string{"chunked"}
		resp.ContentLength = -1
		resp.Body = &body{br: r.br, chunks: httputil.NewChunkedReader(r.br), maxTrail: r.maxTrail()}
	case hasCL:
		resp.ContentLength = length
		if length == 0 {
			resp.Body = http.NoBody
		} else {
			resp.Body = &body{br: r.br, remaining: length}
		}
	default:
		resp.ContentLength = -1
		resp.Close = true
		resp.Body = &body{br: r.br, untilEOF: true}
	}
	return resp, nil
}

func (r *ResponseReader) maxTrail() int {
	if r.MaxHeaderBytes > 0 {
		return r.MaxHeaderBytes
	}
	return 1 << 20
}

func malformed(what string) error {
	return fmt.Errorf("http1: malformed response: %s", what)
}
