// Package transport serves MCP clients: the Streamable HTTP endpoint (the session-based
// revisions with Mcp-Session-Id, SSE streams and Last-Event-ID resumption, and the stateless
// 2026-07-28 revision on the same endpoint) and the stdio server for one local client. It
// applies the network-facing defences (Origin and Host checks, message, header and session
// limits, timeouts) before a message reaches the gateway.
package transport
