package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"gatehouse/internal/sse"
)

func dialSSE(t *testing.T, d *LegacySSE) (Conn, *collector) {
	t.Helper()
	if d.Name == "" {
		d.Name = "legacy"
	}
	col := newCollector()
	c, err := d.Dial(testCtx(t), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, col
}

func TestLegacySSEWithSDKServer(t *testing.T) {
	server := newMCPServer()
	rec := &recorder{next: mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return server }, nil)}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)

	c, col := dialSSE(t, &LegacySSE{URL: ts.URL + "/sse", Headers: func(context.Context) (http.Header, error) {
		return http.Header{"X-Api-Key": {"k1"}}, nil
	}})
	sdkSession(t, c, col, false, true)

	gets, posts := rec.requests("GET"), rec.requests("POST")
	if len(gets) != 1 || gets[0].header.Get("Accept") != "text/event-stream" || gets[0].header.Get("X-Api-Key") != "k1" {
		t.Fatalf("GETs %v", gets)
	}
	for _, p := range posts {
		if p.header.Get("X-Api-Key") != "k1" || p.header.Get("Content-Type") != "application/json" {
			t.Fatalf("POST headers %v", p.header)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err = %v", c.Err())
	}
	if err := c.Send(testCtx(t), []byte(msgToolsList)); err == nil {
		t.Fatal("Send after Close succeeded")
	}
}

// legacyServer is a hand-written HTTP+SSE upstream: GET /base/sse announces endpoint,
// POSTs to it are answered on the stream by reply.
type legacyServer struct {
	endpoint string
	events   chan sse.Event // pushed on the stream
	reply    func(body string) []sse.Event
	status   int // for POSTs; 0 means 202
}

func (s *legacyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		sseHeaders(w)
		sw := sse.NewWriter(w)
		if s.endpoint != "" {
			sw.WriteEvent(sse.Event{Name: "endpoint", Data: []byte(s.endpoint)})
		}
		for {
			select {
			case e, ok := <-s.events:
				if !ok {
					return
				}
				sw.WriteEvent(e)
			case <-r.Context().Done():
				return
			}
		}
	case http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if s.status != 0 {
			http.Error(w, "nope", s.status)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		if s.reply != nil {
			go func() {
				for _, e := range s.reply(string(body)) {
					s.events <- e
				}
			}()
		}
	}
}

func TestLegacySSERelativeEndpoint(t *testing.T) {
	const reply = `{"jsonrpc":"2.0","id":3,"result":{},"x-unknown":1}`
	ls := &legacyServer{endpoint: "msg?session=s1", events: make(chan sse.Event, 10),
		reply: func(string) []sse.Event {
			return []sse.Event{{Name: "message", Data: []byte(reply)}}
		}}
	rec := &recorder{next: ls}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	c, col := dialSSE(t, &LegacySSE{URL: ts.URL + "/base/sse"})
	c.SetProtocolVersion("2024-11-05")
	send(t, c, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	r := col.wait(t, "response", withID("3"))
	if r.msg != reply || r.related != nil {
		t.Fatalf("got %q related %q", r.msg, r.related)
	}
	posts := rec.requests("POST")
	if len(posts) != 1 || posts[0].header.Get("Mcp-Protocol-Version") != "" {
		t.Fatalf("POSTs %v", posts)
	}
	if got := c.(*sseConn).endpoint; got != ts.URL+"/base/msg?session=s1" {
		t.Fatalf("endpoint %s", got)
	}
}

func TestLegacySSEDialErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.Handler
		timeout time.Duration
		want    string
	}{
		{"cross-origin endpoint", &legacyServer{endpoint: "http://evil.example:1/msg", events: make(chan sse.Event)}, 0, "refusing endpoint"},
		{"other scheme endpoint", &legacyServer{endpoint: "https://127.0.0.1/msg", events: make(chan sse.Event)}, 0, "refusing endpoint"},
		{"no endpoint in time", &legacyServer{events: make(chan sse.Event)}, 100 * time.Millisecond, "no endpoint event within"},
		{"stream ends first", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, ": hello\n\nevent: other\ndata: x\n\n")
		}), 0, "ended before the endpoint event"},
		{"not an event stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>")
		}), 0, "not text/event-stream"},
		{"status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "go away", http.StatusUnauthorized)
		}), 0, "GET returned HTTP 401 Unauthorized: go away"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			t.Cleanup(ts.Close)
			ctx := testCtx(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			c, err := (&LegacySSE{Name: "old", URL: ts.URL + "/sse"}).Dial(ctx, func([]byte, []byte) {})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"old"`) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestLegacySSEStreamFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   *sse.Event // nil: the stream ends
		want string
	}{
		{"stream ends", nil, "event stream ended"},
		{"invalid message", &sse.Event{Name: "message", Data: []byte("{oops")}, "invalid message"},
		{"oversized message", &sse.Event{Data: []byte(`{"x":"` + strings.Repeat("y", 300) + `"}`)}, "exceeds 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := &legacyServer{endpoint: "/msg", events: make(chan sse.Event, 1)}
			ts := httptest.NewServer(ls)
			t.Cleanup(ts.Close)
			c, col := dialSSE(t, &LegacySSE{URL: ts.URL, MaxMessage: 100})
			// Other event types and id-only events are ignored.
			ls.events <- sse.Event{Name: "ping", Data: []byte("x")}
			ls.events <- sse.Event{ID: "1", HasID: true}
			if tc.ev != nil {
				ls.events <- *tc.ev
			} else {
				close(ls.events)
			}
			waitDone(t, c)
			if err := c.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err = %v", err)
			}
			if len(col.all()) != 0 {
				t.Fatalf("delivered %v", col.all())
			}
		})
	}
}

func TestLegacySSEPostStatus(t *testing.T) {
	ls := &legacyServer{endpoint: "/msg", events: make(chan sse.Event), status: http.StatusBadRequest}
	ts := httptest.NewServer(ls)
	t.Cleanup(ts.Close)
	c, _ := dialSSE(t, &LegacySSE{Name: "old", URL: ts.URL})
	err := c.Send(testCtx(t), []byte(msgToolsList))
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || se.Body != "nope" {
		t.Fatalf("err = %v", err)
	}
	notDone(t, c)
}
