// Package gateway routes MCP messages between client-facing sessions and upstream servers.
//
// A Session is one client's MCP session; a leg is one initialized connection to one upstream,
// shared by every session (stdio default) or opened per session on first use (HTTP default).
// The gateway remaps JSON-RPC ids and progress tokens per leg, so that clients never collide,
// routes server-to-client requests back to the session whose call caused them (and refuses
// them when that cannot be known), namespaces and merges lists with signed cursors, and serves
// both protocol generations: the session-based revisions and the stateless 2026-07-28 one
// (modern.go), including input_required rounds for session-based upstreams (mrtr.go).
//
// Every message passes the Pipeline built in pipeline.go, the one place where the order of
// the per-message stages is written.
package gateway
