package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"gatehouse/internal/sse"
)

// Stateless sends requests of the stateless MCP revision (2026-07-28) to an upstream: one POST
// per request, no session, the response as JSON or as an SSE stream that ends with it.
type Stateless struct {
	Name       string
	URL        string
	Headers    func(ctx context.Context) (http.Header, error)
	Client     *http.Client // never nil in use; the caller owns it
	MaxMessage int          // bound on one message; 0 means 4 MiB
}

// Reply is what an upstream answered at the HTTP level.
type Reply struct {
	Status int // HTTP status
}

// Do POSTs msg with the per-request headers hdr (MCP-Protocol-Version, Mcp-Method, Mcp-Name,
// Mcp-Param-*), and calls each for every message of the response in order. A non-2xx status
// whose body is a JSON-RPC message is delivered like any other (the modern revision puts
// errors such as -32020 or -32601 there); any other failure is an error naming the server.
// ctx bounds the whole exchange: cancelling it closes the stream, which is how the stateless
// revision cancels a request.
func (s *Stateless) Do(ctx context.Context, msg []byte, hdr http.Header, each func([]byte)) (Reply, error) {
	max := s.MaxMessage
	if max <= 0 {
		max = 4 << 20
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(msg))
	if err != nil {
		return Reply{}, fmt.Errorf("upstream %q: %w", s.Name, err)
	}
	if s.Headers != nil {
		h, err := s.Headers(ctx)
		if err != nil {
			return Reply{}, fmt.Errorf("upstream %q: resolving headers: %w", s.Name, err)
		}
		for k, vs := range h {
			req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := s.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry credentials
		}
		return Reply{}, fmt.Errorf("upstream %q: POST: %w", s.Name, err)
	}
	defer resp.Body.Close()
	rep := Reply{Status: resp.StatusCode}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "text/event-stream" && resp.StatusCode/100 == 2:
		r := sse.NewReader(resp.Body, max)
		for {
			ev, err := r.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return rep, nil
				}
				return rep, fmt.Errorf("upstream %q: response stream: %w", s.Name, err)
			}
			if (ev.Name == "" || ev.Name == "message") && len(bytes.TrimSpace(ev.Data)) > 0 {
				each(ev.Data)
			}
		}
	case mt == "application/json":
		body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
		if err != nil {
			return rep, fmt.Errorf("upstream %q: reading response: %w", s.Name, err)
		}
		if len(body) > max {
			return rep, fmt.Errorf("upstream %q: response exceeds %d bytes", s.Name, max)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			each(body)
		}
		return rep, nil
	case resp.StatusCode == http.StatusAccepted:
		return rep, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return rep, &StatusError{Server: s.Name, Method: http.MethodPost, StatusCode: resp.StatusCode, Body: printable(snippet)}
}
