// Package jsonrpc parses JSON-RPC 2.0 messages once, without building values, and changes
// them by splicing bytes.
//
// Gatehouse forwards messages it did not write. Decoding them into typed structs (as the MCP
// SDKs do) would drop members the gateway does not know and re-encode everything else; this
// package instead validates a message strictly while recording the byte spans of its
// top-level members, so that the id (or a params member) can be replaced and the rest is
// forwarded byte for byte.
package jsonrpc
