package jsonrpc

import (
	"encoding/json"
	"strconv"
)

// Standard JSON-RPC 2.0 error codes, and the MCP and Gatehouse codes in the server range.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603

	// CodeUpstreamUnavailable: the upstream serving this request is down, exited or broke
	// the protocol. Matches the SDKs' "connection closed" code.
	CodeUpstreamUnavailable = -32000
	// CodeRequestTimeout: the upstream did not answer in time (the SDKs' timeout code).
	CodeRequestTimeout = -32001
	// CodeResourceNotFound is MCP's code for an unknown resource URI.
	CodeResourceNotFound = -32002
	// CodeLimitExceeded: a gateway limit (pending requests, message size) was hit.
	CodeLimitExceeded = -32005
)

// Request builds a request.
func Request(id []byte, method string, params []byte) []byte {
	b := make([]byte, 0, 48+len(method)+len(params)+len(id))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"method":`...)
	b = appendString(b, method)
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, '}')
}

// Notification builds a notification.
func Notification(method string, params []byte) []byte {
	b := make([]byte, 0, 40+len(method)+len(params))
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	b = appendString(b, method)
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, '}')
}

// Response builds a success response.
func Response(id, result []byte) []byte {
	b := make([]byte, 0, 36+len(id)+len(result))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}')
}

// ErrorResponse builds an error response. data, if not nil, is marshalled as error.data.
func ErrorResponse(id []byte, code int, message string, data any) []byte {
	if len(id) == 0 {
		id = []byte("null")
	}
	b := make([]byte, 0, 64+len(id)+len(message))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	if data != nil {
		if d, err := json.Marshal(data); err == nil {
			b = append(b, `,"data":`...)
			b = append(b, d...)
		}
	}
	return append(b, `}}`...)
}

// IntID returns n as a raw JSON id.
func IntID(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

// AppendIntID appends n as a raw JSON id.
func AppendIntID(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// ErrorObject is a decoded JSON-RPC error.
type ErrorObject struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// DecodeError decodes a raw error member.
func DecodeError(raw []byte) (ErrorObject, error) {
	var e ErrorObject
	err := json.Unmarshal(raw, &e)
	return e, err
}
