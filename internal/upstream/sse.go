package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/sse"
)

// defaultEndpointTimeout bounds the wait for the endpoint event when Dial's ctx has no
// deadline.
const defaultEndpointTimeout = 30 * time.Second

// LegacySSE dials an upstream MCP server over the HTTP+SSE transport of MCP 2024-11-05: a
// GET opens an event stream whose first event, "endpoint", names the URL to POST messages
// to; the upstream's messages arrive as "message" events on the stream. The session lives as
// long as the GET stream; there is no resumption. Use it by pointer and do not copy it after
// the first Dial.
type LegacySSE struct {
	Name string // the upstream's name, for logs and errors
	URL  string // the SSE endpoint
	// Headers returns extra request headers; called for every HTTP request. May be nil.
	Headers func(ctx context.Context) (http.Header, error)
	// Client sends the requests; nil means a dedicated client (see StreamableHTTP.Client).
	Client *http.Client
	// MaxMessage bounds one SSE event from the upstream; 0 means 4 MiB. A larger message
	// ends the Conn.
	MaxMessage int
	Logger     *slog.Logger

	clientOnce sync.Once
	client     *http.Client
}

var _ Dialer = (*LegacySSE)(nil)

// Dial opens the event stream and waits for the endpoint event. ctx bounds the whole Dial
// (30s when it has no deadline), but not the stream, which belongs to the Conn. The endpoint
// must be on the same origin as URL.
func (d *LegacySSE) Dial(ctx context.Context, h Handler) (Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := parseHTTPURL(d.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", d.Name, err)
	}
	d.clientOnce.Do(func() {
		d.client = d.Client
		if d.client == nil {
			d.client = newHTTPClient()
		}
	})
	c := &sseConn{}
	c.init(ctx, d.Name, d.client, d.Headers, d.MaxMessage, d.Logger, 0, h)
	if err := c.open(ctx, u); err != nil {
		c.shutdown(nil)
		return nil, err
	}
	return c, nil
}

type sseConn struct {
	base
	endpoint string
}

func (c *sseConn) open(ctx context.Context, u *url.URL) error {
	timeout := "the dial deadline"
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultEndpointTimeout)
		defer cancel()
		timeout = defaultEndpointTimeout.String()
	}
	// The stream belongs to the Conn; ctx only bounds waiting for the endpoint.
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	req, err := c.newRequest(ctx, c.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("upstream %q: no endpoint event within %s: %w", c.name, timeout, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("upstream %q: GET: %w", c.name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(http.MethodGet, resp)
	}
	if ct := mediaType(resp.Header.Get("Content-Type")); ct != "text/event-stream" {
		drain(resp.Body)
		return fmt.Errorf("upstream %q: GET answered with Content-Type %q, not text/event-stream", c.name, ct)
	}
	r := sse.NewReader(resp.Body, c.max)
	for {
		ev, err := r.Next()
		if err != nil {
			resp.Body.Close()
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("upstream %q: no endpoint event within %s: %w", c.name, timeout, ctx.Err())
			case errors.Is(err, sse.ErrEventTooLarge):
				return fmt.Errorf("upstream %q: event exceeds %d bytes", c.name, c.max)
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return fmt.Errorf("upstream %q: event stream ended before the endpoint event", c.name)
			}
			return fmt.Errorf("upstream %q: reading the endpoint event: %w", c.name, err)
		}
		if ev.Name != "endpoint" {
			c.log.Warn("ignoring event before the endpoint event", "event", ev.Name)
			continue
		}
		ep, err := u.Parse(strings.TrimSpace(string(ev.Data)))
		if err != nil {
			resp.Body.Close()
			return fmt.Errorf("upstream %q: invalid endpoint %q: %w", c.name, printable(ev.Data[:min(len(ev.Data), errorBodySnippet)]), err)
		}
		if !sameOrigin(ep, u) {
			resp.Body.Close()
			return fmt.Errorf("upstream %q: refusing endpoint %q: not on the origin of the SSE URL", c.name, ep.Redacted())
		}
		c.endpoint = ep.String()
		break
	}
	if !stop() {
		resp.Body.Close()
		return fmt.Errorf("upstream %q: no endpoint event within %s: %w", c.name, timeout, ctx.Err())
	}
	if !c.goRun(func() { c.read(resp.Body, r) }) {
		resp.Body.Close()
		return c.errClosed()
	}
	return nil
}

// read delivers "message" events until the stream ends, which ends the Conn.
func (c *sseConn) read(body io.ReadCloser, r *sse.Reader) {
	defer body.Close()
	for {
		ev, err := r.Next()
		if err != nil {
			switch {
			case c.ctx.Err() != nil:
			case errors.Is(err, sse.ErrEventTooLarge):
				c.fail(fmt.Errorf("upstream %q: message exceeds %d bytes", c.name, c.max))
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				c.fail(fmt.Errorf("upstream %q: the event stream ended", c.name))
			default:
				c.fail(fmt.Errorf("upstream %q: reading the event stream: %w", c.name, err))
			}
			return
		}
		switch ev.Name {
		case "", "message":
		case "endpoint":
			c.log.Warn("ignoring a second endpoint event")
			continue
		default:
			c.log.Debug("ignoring event", "event", ev.Name)
			continue
		}
		msg := bytes.TrimSpace(ev.Data)
		if len(msg) == 0 {
			continue
		}
		if _, err := peekEnvelope(msg); err != nil {
			c.fail(fmt.Errorf("upstream %q: invalid message: %v", c.name, err))
			return
		}
		c.deliver(msg, nil)
	}
}

// Send POSTs msg to the endpoint; ctx bounds the whole exchange. The upstream answers on the
// event stream.
func (c *sseConn) Send(ctx context.Context, msg []byte) error {
	if err := c.Err(); err != nil {
		return err
	}
	if _, err := peekEnvelope(msg); err != nil {
		return fmt.Errorf("upstream %q: refusing to send an invalid message: %w", c.name, err)
	}
	req, err := c.newRequest(ctx, c.ctx, http.MethodPost, c.endpoint, msg)
	if err != nil {
		return err
	}
	resp, release, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer release()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(http.MethodPost, resp)
	}
	drain(resp.Body) // bounded by ctx too (do binds the body to it)
	return nil
}

// SetProtocolVersion records nothing on the wire: HTTP+SSE has no version header.
func (c *sseConn) SetProtocolVersion(string) {}

// Close ends the event stream (and with it the upstream's session) and waits for the reader.
func (c *sseConn) Close() error { return c.shutdown(nil) }
