// Package upstream connects Gatehouse to upstream MCP servers: child processes over stdio,
// Streamable HTTP (MCP 2025-03-26 and later) and the legacy HTTP+SSE transport (2024-11-05).
//
// All transports hand whole JSON-RPC messages to a Handler as raw bytes, unchanged, so members
// Gatehouse does not know are forwarded byte for byte.
package upstream

import "context"

// Handler receives one message from the upstream. related is the raw JSON id of the client
// request whose POST response stream carried it (Streamable HTTP), or nil (stdio, GET stream,
// SSE).
//
// msg is the handler's own copy and may be kept; related must not be modified. A Conn never
// calls its Handler concurrently with itself, and never after Close has returned. A Handler
// may call Send, but must not call Close of the Conn delivering to it (Close waits for the
// Conn's readers, and so for the Handler).
type Handler func(msg []byte, related []byte)

// Conn is one live connection to an upstream MCP server.
type Conn interface {
	// Send writes one JSON-RPC message. For a request over Streamable HTTP it also reads the
	// response stream in the caller's goroutine, delivering its messages to the Handler, and
	// returns once the response was delivered (the caller waits for it anyway; a hand-off per
	// call would cost more). ctx bounds the whole Send: when it ends, the stream is closed.
	Send(ctx context.Context, msg []byte) error
	// SetProtocolVersion tells the transport the negotiated version (MCP-Protocol-Version
	// header). For Streamable HTTP, the first call also means "initialized": the standalone
	// GET stream is opened then.
	SetProtocolVersion(v string)
	// Done is closed when the connection is gone; Err says why.
	Done() <-chan struct{}
	// Err is nil while the connection is alive, and the reason it ended afterwards.
	Err() error
	// Close ends the connection and waits for its goroutines. It is idempotent; HTTP sends
	// DELETE for its session.
	Close() error
}

// Dialer opens a Conn.
type Dialer interface {
	Dial(ctx context.Context, h Handler) (Conn, error)
}
