package gateway

import (
	"errors"
	"fmt"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/upstream"
)

// Error is what a client may see of a failure: a JSON-RPC code and message, and optional data.
// Cause is the internal reason; it goes to the log, never to the client.
type Error struct {
	Code    int
	Message string
	Data    any
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// errorf builds a client-visible error.
func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// response turns err into a JSON-RPC error response for id. Errors that are not *Error are
// internal: the client sees a generic message and the cause is only logged.
func errorResponse(id []byte, err error) []byte {
	var e *Error
	if errors.As(err, &e) {
		return jsonrpc.ErrorResponse(id, e.Code, e.Message, e.Data)
	}
	return jsonrpc.ErrorResponse(id, jsonrpc.CodeInternalError, "internal error", nil)
}

// upstreamError names the server, as clients must be able to tell which upstream failed.
func upstreamError(server string, cause error) *Error {
	var se *upstream.StatusError
	if errors.As(cause, &se) && se.StatusCode >= 400 && se.StatusCode < 500 && se.StatusCode != 404 {
		// The upstream is up; it refused this one request.
		return &Error{
			Code:    jsonrpc.CodeUpstreamUnavailable,
			Message: fmt.Sprintf("upstream %q refused the request: %v", server, cause),
			Data:    map[string]string{"server": server},
			Cause:   cause,
		}
	}
	return &Error{
		Code:    jsonrpc.CodeUpstreamUnavailable,
		Message: fmt.Sprintf("upstream %q is unavailable: %v", server, cause),
		Data:    map[string]string{"server": server},
		Cause:   cause,
	}
}
