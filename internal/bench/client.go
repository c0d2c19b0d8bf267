package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ProtocolVersion is what the load client asks for in initialize.
const ProtocolVersion = "2025-11-25"

// NewHTTPClient returns a keep-alive client for maxConns concurrent requests to one host,
// without compression (so that bytes on the wire are what is measured) and with a per-request
// time bound.
func NewHTTPClient(maxConns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns + 16,
		MaxIdleConnsPerHost: maxConns + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Client speaks raw JSON-RPC over Streamable HTTP to one MCP endpoint.
type Client struct {
	URL  string
	HTTP *http.Client
	// Authorization, if set, is sent on every request (a bearer token).
	Authorization string
}

// Session is one initialized MCP session of a Client. Not safe for concurrent use: a load
// worker owns one.
type Session struct {
	c       *Client
	ID      string // Mcp-Session-Id ("" if the server gave none)
	Version string // negotiated protocol version
	nextID  int64
	body    []byte
	rd      *bufio.Reader // for event streams: big enough for a 64 KiB event on one line, reused
	buf     bytes.Buffer
}

// CallSpec is a prepared tools/call.
type CallSpec struct {
	Tool     string
	Args     json.RawMessage
	MinBytes int // the result must be at least this long (the payload's size)
	prefix   []byte
	suffix   []byte
}

// NewCallSpec prepares a tools/call of tool with args.
func NewCallSpec(tool string, args json.RawMessage, minBytes int) *CallSpec {
	params, _ := json.Marshal(map[string]any{"name": tool, "arguments": args})
	return &CallSpec{
		Tool: tool, Args: args, MinBytes: minBytes,
		prefix: []byte(`{"jsonrpc":"2.0","id":`),
		suffix: append(append([]byte(`,"method":"tools/call","params":`), params...), '}'),
	}
}

// EchoCall and BlobCall are the two payloads, for a tool name prefix ("" direct, "up__"
// through the gateway).
func EchoCall(prefix string) *CallSpec {
	args, _ := json.Marshal(map[string]string{"text": EchoText})
	return NewCallSpec(prefix+"echo", args, EchoSize)
}

func BlobCall(prefix string) *CallSpec {
	return NewCallSpec(prefix+"blob", json.RawMessage(`{}`), BlobSize)
}

// HTTPError is a response with an unexpected status.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (s *Session) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json, text/event-stream"}
	if s.ID != "" {
		h["Mcp-Session-Id"] = []string{s.ID}
	}
	if s.Version != "" {
		h["Mcp-Protocol-Version"] = []string{s.Version}
	}
	if s.c.Authorization != "" {
		h["Authorization"] = []string{s.c.Authorization}
	}
	return s.c.HTTP.Do(req)
}

// Open initializes a session: initialize, then notifications/initialized.
func (c *Client) Open(ctx context.Context) (*Session, error) {
	s := &Session{c: c}
	init := []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + ProtocolVersion +
		`","capabilities":{},"clientInfo":{"name":"gatehouse-bench","version":"0.1.0"}}}`)
	resp, err := s.post(ctx, init)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	s.ID = resp.Header.Get("Mcp-Session-Id")
	msg, err := s.readResponse(resp, 0)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var r struct {
		Result *struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(msg, &r); err != nil || r.Result == nil || r.Result.ProtocolVersion == "" {
		return nil, fmt.Errorf("initialize: unexpected response %.200s", msg)
	}
	s.Version = r.Result.ProtocolVersion
	resp, err = s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("notifications/initialized: HTTP %d", resp.StatusCode)
	}
	return s, nil
}

// Close ends the session with DELETE (best effort).
func (s *Session) Close(ctx context.Context) error {
	if s.ID == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.c.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Mcp-Session-Id", s.ID)
	req.Header.Set("Mcp-Protocol-Version", s.Version)
	if s.c.Authorization != "" {
		req.Header.Set("Authorization", s.c.Authorization)
	}
	resp, err := s.c.HTTP.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// Call performs one tools/call and checks the response: a result (not an error, not
// isError) with the request's id, at least spec.MinBytes long. It returns the response size.
func (s *Session) Call(ctx context.Context, spec *CallSpec) (int, error) {
	s.nextID++
	id := s.nextID
	s.body = append(s.body[:0], spec.prefix...)
	s.body = strconv.AppendInt(s.body, id, 10)
	s.body = append(s.body, spec.suffix...)
	resp, err := s.post(ctx, s.body)
	if err != nil {
		return 0, err
	}
	msg, err := s.readResponse(resp, id)
	if err != nil {
		return 0, err
	}
	if err := checkResult(msg, spec.MinBytes); err != nil {
		return 0, err
	}
	return len(msg), nil
}

var (
	errNoResponse = errors.New("the response stream ended without the response")
	resultKey     = []byte(`"result":`)
	isErrorTrue   = []byte(`"isError":true`)
	errorKey      = []byte(`"error":{`)
)

func checkResult(msg []byte, min int) error {
	if !bytes.Contains(msg, resultKey) {
		if bytes.Contains(msg, errorKey) {
			return fmt.Errorf("JSON-RPC error: %.300s", msg)
		}
		return fmt.Errorf("no result: %.300s", msg)
	}
	if bytes.Contains(msg, isErrorTrue) {
		return fmt.Errorf("tool error: %.300s", msg)
	}
	if len(msg) < min {
		return fmt.Errorf("result of %d bytes, want at least %d", len(msg), min)
	}
	return nil
}

// readResponse returns the JSON-RPC response with id from an application/json body or a
// text/event-stream, and closes the body (after draining it, so the connection is reused).
// The returned slice is valid until the next call on s.
func (s *Session) readResponse(resp *http.Response, id int64) ([]byte, error) {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		io.Copy(io.Discard, resp.Body)
		return nil, &HTTPError{Status: resp.StatusCode, Body: string(b)}
	}
	ct := resp.Header.Get("Content-Type")
	s.buf.Reset()
	switch {
	case hasMediaType(ct, "application/json"):
		if _, err := s.buf.ReadFrom(resp.Body); err != nil {
			return nil, err
		}
		msg := bytes.TrimSpace(s.buf.Bytes())
		if !hasID(msg, id) {
			return nil, fmt.Errorf("response id mismatch (want %d): %.200s", id, msg)
		}
		return msg, nil
	case hasMediaType(ct, "text/event-stream"):
		msg, err := s.readSSE(resp.Body, id)
		io.Copy(io.Discard, resp.Body)
		return msg, err
	}
	io.Copy(io.Discard, resp.Body)
	return nil, fmt.Errorf("unexpected Content-Type %q", ct)
}

func hasMediaType(ct, want string) bool {
	if len(ct) < len(want) {
		return false
	}
	return bytes.EqualFold([]byte(ct[:len(want)]), []byte(want)) && (len(ct) == len(want) || ct[len(want)] == ';' || ct[len(want)] == ' ')
}

// readSSE reads events until one carries the response with id. Data of an event is collected
// in s.buf (multi-line data joined by '\n').
func (s *Session) readSSE(body io.Reader, id int64) ([]byte, error) {
	if s.rd == nil {
		s.rd = bufio.NewReaderSize(nil, 80<<10)
	}
	s.rd.Reset(body)
	defer s.rd.Reset(nil)
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF {
				return nil, errNoResponse
			}
			return nil, err
		}
		if len(line) == 0 { // dispatch
			if hasData {
				msg := bytes.TrimSpace(s.buf.Bytes())
				if len(msg) > 0 && hasID(msg, id) && !isRequestOrNotification(msg) {
					return msg, nil
				}
			}
			s.buf.Reset()
			hasData = false
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if hasData {
				s.buf.WriteByte('\n')
			}
			s.buf.Write(v)
			hasData = true
		}
		// id:, event:, retry: and comments are not needed here.
	}
}

// readLine returns one line without its terminator; long lines are assembled in a scratch
// buffer. The slice is valid until the next read.
func (s *Session) readLine() ([]byte, error) {
	line, err := s.rd.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = s.rd.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil && !(err == io.EOF && len(line) > 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

// hasID reports whether msg's "id" is id (compact encodings first, then a full decode).
func hasID(msg []byte, id int64) bool {
	var key [32]byte
	k := append(key[:0], `"id":`...)
	k = strconv.AppendInt(k, id, 10)
	if i := bytes.Index(msg, k); i >= 0 && i+len(k) < len(msg) {
		if c := msg[i+len(k)]; c == ',' || c == '}' || c == ' ' {
			return true
		}
	}
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(msg, &v) != nil {
		return false
	}
	return string(bytes.TrimSpace(v.ID)) == strconv.FormatInt(id, 10)
}

func isRequestOrNotification(msg []byte) bool {
	// A response has no "method"; the payloads never contain the word.
	return bytes.Contains(msg, []byte(`"method":`))
}
