package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"gatehouse/internal/pollfd"
)

const (
	// EchoSize is the size of the echo tool's argument (and so of its text result).
	EchoSize = 100
	// BlobSize is the size of the blob tool's text result.
	BlobSize = 64 << 10
)

// EchoText is the 100-byte argument of the echo tool.
var EchoText = strings.Repeat("0123456789", EchoSize/10)

// blobText is the blob tool's 64 KiB result: printable, no bytes that JSON must escape.
var blobText = func() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, BlobSize)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%len(alphabet)]
	}
	return string(b)
}()

// UpstreamStats counts what the reference upstream saw.
type UpstreamStats struct {
	Initialized atomic.Int64 // sessions that completed initialize (notifications/initialized)
	Calls       atomic.Int64 // tool calls
	OpenGETs    atomic.Int64 // standalone GET streams open now
	MaxGETs     atomic.Int64 // most standalone GET streams open at once
	Deletes     atomic.Int64 // DELETE requests (sessions ended by the client)
}

// Snapshot returns the counters as a map (for /stats).
func (s *UpstreamStats) Snapshot() map[string]int64 {
	return map[string]int64{
		"initialized": s.Initialized.Load(),
		"calls":       s.Calls.Load(),
		"open_gets":   s.OpenGETs.Load(),
		"max_gets":    s.MaxGETs.Load(),
		"deletes":     s.Deletes.Load(),
	}
}

// NewUpstreamServer returns the reference MCP server: tools echo ({"text": string} → the text)
// and blob (→ 64 KiB of text). stats may be nil.
func NewUpstreamServer(stats *UpstreamStats) *mcp.Server {
	opts := &mcp.ServerOptions{Logger: slog.New(slog.DiscardHandler)}
	if stats != nil {
		opts.InitializedHandler = func(context.Context, *mcp.InitializedRequest) { stats.Initialized.Add(1) }
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "gatehouse-bench-upstream", Version: "0.1.0"}, opts)
	echoSchema := json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)
	s.AddTool(&mcp.Tool{Name: "echo", Description: "returns its text argument", InputSchema: echoSchema},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if stats != nil {
				stats.Calls.Add(1)
			}
			var in struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
				return nil, fmt.Errorf("echo: %w", err)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil
		})
	s.AddTool(&mcp.Tool{Name: "blob", Description: "returns 64 KiB of text", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if stats != nil {
				stats.Calls.Add(1)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: blobText}}}, nil
		})
	return s
}

// NewUpstreamHandler returns the reference server behind the Go SDK's session-based (not
// stateless) Streamable HTTP handler, with /stats (JSON counters) beside path.
func NewUpstreamHandler(path string, stats *UpstreamStats, jsonResponse bool) http.Handler {
	if stats == nil {
		stats = new(UpstreamStats)
	}
	srv := NewUpstreamServer(stats)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{JSONResponse: jsonResponse, Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			n := stats.OpenGETs.Add(1)
			for {
				m := stats.MaxGETs.Load()
				if n <= m || stats.MaxGETs.CompareAndSwap(m, n) {
					break
				}
			}
			defer stats.OpenGETs.Add(-1)
		case http.MethodDelete:
			stats.Deletes.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(stats.Snapshot())
	})
	return mux
}

// ServeStdioUpstream runs the reference server on stdin/stdout until the input ends, both
// read and written through the runtime's poller (package pollfd says why: a blocking read on
// stdin made about one blob call in 10^5 at concurrency 1 hang until the client gave up).
func ServeStdioUpstream(ctx context.Context) error {
	in, restoreIn := pollfd.Pollable(os.Stdin)
	defer restoreIn()
	out, restoreOut := pollfd.Pollable(os.Stdout)
	defer restoreOut()
	return NewUpstreamServer(nil).Run(ctx, &mcp.IOTransport{Reader: in, Writer: nopWriteCloser{out}})
}

// nopWriteCloser keeps stdout open when the transport closes: the process's end closes it.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
