package transport

//lint:file-ignore ST1005 "Header mismatch" is the revision's wording of this error, capital included
import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"gatehouse/internal/gateway"
	"gatehouse/internal/jsonrpc"
)

// isModern reports whether a POST belongs to the stateless revision (2026-07-28): its
// MCP-Protocol-Version header names it, or (without a session) its _meta does.
func isModern(r *http.Request, msg *jsonrpc.Message) bool {
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" {
		return gateway.IsModernVersion(v)
	}
	if r.Header.Get("Mcp-Session-Id") != "" || msg.Kind != jsonrpc.KindRequest || msg.Method == "initialize" {
		return false
	}
	v, ok := gateway.MetaVersion(msg.Params)
	return ok && gateway.IsModernVersion(v)
}

// checkModernHeaders applies the revision's header rules: the version header must match
// _meta, Mcp-Method the method, Mcp-Name the tool, prompt or resource named in the body.
// The messages begin "Header mismatch:", as the revision words that error.
func checkModernHeaders(r *http.Request, msg *jsonrpc.Message) error {
	hv := r.Header.Get("Mcp-Protocol-Version")
	mv, ok := gateway.MetaVersion(msg.Params)
	if ok && hv != mv {
		return fmt.Errorf("Header mismatch: MCP-Protocol-Version %q does not match params._meta version %q", hv, mv)
	}
	if m := r.Header.Get("Mcp-Method"); m != msg.Method {
		if m == "" {
			return fmt.Errorf("Header mismatch: the Mcp-Method header is required")
		}
		return fmt.Errorf("Header mismatch: Mcp-Method %q does not match method %q", m, msg.Method)
	}
	if want, needs := gateway.NameHeader(msg.Method, msg.Params); needs {
		raw := r.Header.Values("Mcp-Name")
		if len(raw) != 1 {
			return fmt.Errorf("Header mismatch: exactly one Mcp-Name header is required for %s", msg.Method)
		}
		got, ok := gateway.DecodeHeaderValue(strings.TrimSpace(raw[0]))
		if !ok {
			return fmt.Errorf("Header mismatch: Mcp-Name is not valid base64 in =?base64?…?= form")
		}
		if got != want {
			return fmt.Errorf("Header mismatch: Mcp-Name %q does not match %q in the body", got, want)
		}
	}
	return nil
}

// modernStatus maps the errors of the stateless revision to HTTP statuses.
func modernStatus(resp []byte) int {
	m, err := jsonrpc.Parse(resp)
	if err != nil || m.Error == nil {
		return http.StatusOK
	}
	code, _ := jsonrpc.Member(m.Error, "code")
	switch string(code) {
	case "-32601":
		return http.StatusNotFound
	case "-32602", "-32020", "-32021", "-32022", "-32600", "-32700":
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// postModern serves one POST of the stateless revision.
func (h *HTTPHandler) postModern(w http.ResponseWriter, r *http.Request, msg *jsonrpc.Message) {
	switch msg.Kind {
	case jsonrpc.KindNotification:
		// notifications/cancelled is stdio-only in this revision (closing the stream cancels).
		w.WriteHeader(http.StatusAccepted)
		return
	case jsonrpc.KindResponse:
		httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "protocol "+gateway.ModernVersion+" has no server-to-client requests to answer")
		return
	}
	if err := checkModernHeaders(r, msg); err != nil {
		httpError(w, http.StatusBadRequest, msg.ID, gateway.CodeHeaderMismatch, err.Error())
		return
	}
	fwd := http.Header{}
	for k, vs := range r.Header {
		if strings.HasPrefix(k, "Mcp-Param-") {
			fwd[k] = vs
		}
	}
	es := newEventStream("", h.opts.EventBuffer)
	es.noIDs = true // no resumption in this revision
	ctx := r.Context()
	go func() {
		if resp := h.g.HandleModern(ctx, clientKey(r), msg, es, fwd); resp != nil {
			es.push(resp, true)
		} else {
			es.close()
		}
	}()
	select {
	case <-es.wake:
	case <-ctx.Done():
		return
	}
	evs, final := es.after(0)
	if final && len(evs) == 1 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(evs[0].data)))
		w.WriteHeader(modernStatus(evs[0].data))
		w.Write(evs[0].data)
		return
	}
	es.attach()
	_, stop := es.current()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	h.pump(w, r, es, 0, false, stop)
}
