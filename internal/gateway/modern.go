package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/identity"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode"

	"gatehouse/internal/jsonrpc"
)

// The stateless revision (2026-07-28): no initialize and no session; every request carries
// its protocol version and the client's capabilities in params._meta, and is checked against
// the Mcp-Method / Mcp-Name headers. Gatehouse serves it on the same endpoint as the
// session-based revisions. Towards upstreams it forwards such requests natively when the
// upstream speaks 2026-07-28, and otherwise translates them onto a session-based connection.

// ModernVersion is the stateless protocol revision.
const ModernVersion = "2026-07-28"

// JSON-RPC codes of the stateless revision.
const (
	CodeHeaderMismatch     = -32020
	CodeMissingCapability  = -32021
	CodeUnsupportedVersion = -32022
)

const (
	metaVersion      = "io.modelcontextprotocol/protocolVersion"
	metaCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo   = "io.modelcontextprotocol/clientInfo"
	metaServerInfo   = "io.modelcontextprotocol/serverInfo"
	metaLogLevel     = "io.modelcontextprotocol/logLevel"
	metaSubscription = "io.modelcontextprotocol/subscriptionId"
)

// modernVersions are the stateless revisions the gateway serves.
func modernVersions() []string { return []string{ModernVersion} }

// allVersions are every revision the gateway serves, newest first.
func allVersions() []string { return append(modernVersions(), sessionVersions()...) }

// IsModernVersion reports whether v names a stateless revision (2026-07-28 or later).
func IsModernVersion(v string) bool { return v >= ModernVersion }

// MetaVersion returns the protocol version a request declares in params._meta.
func MetaVersion(params []byte) (string, bool) {
	v, ok := jsonrpc.Path(params, "_meta", metaVersion)
	if !ok {
		return "", false
	}
	return jsonrpc.Unquote(v)
}

// NameHeader returns the value the Mcp-Name header must carry for a request, and whether
// the method needs one.
func NameHeader(method string, params []byte) (string, bool) {
	switch method {
	case "tools/call", "prompts/get":
		v, _ := jsonrpc.StringMember(params, "name")
		return v, true
	case "resources/read":
		v, _ := jsonrpc.StringMember(params, "uri")
		return v, true
	}
	return "", false
}

// EncodeHeaderValue encodes v for an Mcp-* header: as is when it is plain visible ASCII,
// else in the =?base64?…?= form the revision defines.
func EncodeHeaderValue(v string) string {
	plain := v == strings.TrimSpace(v) && !strings.HasPrefix(v, "=?base64?")
	for _, r := range v {
		if r > unicode.MaxASCII || unicode.IsControl(r) {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

// DecodeHeaderValue undoes EncodeHeaderValue.
func DecodeHeaderValue(v string) (string, bool) {
	inner, ok := strings.CutPrefix(v, "=?base64?")
	if !ok {
		return v, true
	}
	inner, ok = strings.CutSuffix(inner, "?=")
	if !ok {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(inner)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// listenFilter is what a subscriptions/listen stream asked for.
type listenFilter struct {
	id                        []byte // the listen request's id: the subscription id
	tools, prompts, resources bool
	resourceURIs              map[string]bool
}

// HandleModern serves one request of the stateless revision and returns its response. fwd
// are request headers that travel upstream unchanged (Mcp-Param-*). ctx is the request's own:
// in this revision a closed stream is the cancellation.
func (g *Gateway) HandleModern(ctx context.Context, remote string, msg *jsonrpc.Message, st Stream, fwd http.Header) []byte {
	s, err := g.modernSession(ctx, remote, msg, fwd)
	if err != nil {
		return errorResponse(msg.ID, err)
	}
	if mayNeedInput(msg.Method) {
		// May park the call across client rounds; it closes the session itself.
		return g.modernize(msg.Method, g.runBridged(ctx, s, msg, st))
	}
	defer s.Close()
	var resp []byte
	switch msg.Method {
	case "server/discover":
		resp, err = g.discover(ctx, s, msg)
	case "subscriptions/listen":
		resp, err = g.listen(ctx, s, msg, st)
	case "initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe":
		err = errorf(jsonrpc.CodeMethodNotFound, "method %q is not part of protocol version %s", msg.Method, ModernVersion)
	default:
		resp = s.Handle(ctx, msg, st)
	}
	if err != nil {
		return errorResponse(msg.ID, err)
	}
	return g.modernize(msg.Method, resp)
}

// modernSession builds the one-request session of a stateless request from its _meta.
func (g *Gateway) modernSession(ctx context.Context, remote string, msg *jsonrpc.Message, fwd http.Header) (*Session, error) {
	meta, ok := jsonrpc.Member(msg.Params, "_meta")
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "params._meta with %s and %s is required in protocol version %s", metaVersion, metaCapabilities, ModernVersion)
	}
	v, ok := jsonrpc.StringMember(meta, metaVersion)
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "params._meta.%s is required", metaVersion)
	}
	if !slices.Contains(modernVersions(), v) {
		return nil, &Error{Code: CodeUnsupportedVersion, Message: fmt.Sprintf("unsupported protocol version %q", v),
			Data: map[string]any{"supported": allVersions(), "requested": v}}
	}
	caps, ok := jsonrpc.Member(meta, metaCapabilities)
	if !ok || len(caps) == 0 || caps[0] != '{' {
		return nil, errorf(jsonrpc.CodeInvalidParams, "params._meta.%s is required (an object; {} for none)", metaCapabilities)
	}
	s := g.newSession(remote, identity.FromContext(ctx), false)
	s.modern = true
	s.initialized = true
	s.client.ProtocolVersion = v
	if err := json.Unmarshal(caps, &s.client.Capabilities); err != nil {
		return nil, errorf(jsonrpc.CodeInvalidParams, "params._meta.%s must be an object", metaCapabilities)
	}
	s.logLevel, _ = jsonrpc.StringMember(meta, metaLogLevel)
	s.fwd = fwd
	return s, nil
}

// capabilities aggregates what the upstreams offer, as the gateway's own.
func (g *Gateway) capabilities() map[string]any {
	var prompts, resources, logging, completions, subscribe bool
	for _, srv := range g.servers {
		caps, ok := srv.knownCaps()
		if !ok {
			continue
		}
		prompts = prompts || caps.Prompts != nil
		if caps.Resources != nil {
			resources, subscribe = true, subscribe || caps.Resources.Subscribe
		}
		logging = logging || caps.Logging != nil
		completions = completions || caps.Completions != nil
	}
	// Restarted upstreams are announced through list_changed, so it is always offered.
	caps := map[string]any{"tools": map[string]any{"listChanged": true}}
	if prompts {
		caps["prompts"] = map[string]any{"listChanged": true}
	}
	if resources {
		caps["resources"] = map[string]any{"listChanged": true, "subscribe": subscribe}
	}
	if logging {
		caps["logging"] = map[string]any{}
	}
	if completions {
		caps["completions"] = map[string]any{}
	}
	return caps
}

// learnCaps makes sure every upstream's capabilities are known, connecting where needed.
func (g *Gateway) learnCaps(ctx context.Context, s *Session) {
	var wg sync.WaitGroup
	for _, srv := range g.servers {
		if _, ok := srv.knownCaps(); ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := srv.legFor(ctx, s); err != nil {
				s.logger.Debug("capabilities unknown", "upstream", srv.name, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (g *Gateway) discover(ctx context.Context, s *Session, msg *jsonrpc.Message) ([]byte, error) {
	g.learnCaps(ctx, s)
	res, _ := json.Marshal(map[string]any{
		"resultType":        "complete",
		"supportedVersions": allVersions(),
		"capabilities":      g.capabilities(),
		"ttlMs":             0,
		"cacheScope":        "private",
		"_meta":             map[string]any{metaServerInfo: map[string]any{"name": g.name, "version": g.version}},
	})
	return jsonrpc.Response(msg.ID, res), nil
}

// listen serves subscriptions/listen: the stream stays open and carries the notifications the
// client opted in to, each tagged with the subscription id, until the client closes it.
func (g *Gateway) listen(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	var p struct {
		Notifications struct {
			ToolsListChanged      bool     `json:"toolsListChanged"`
			PromptsListChanged    bool     `json:"promptsListChanged"`
			ResourcesListChanged  bool     `json:"resourcesListChanged"`
			ResourceSubscriptions []string `json:"resourceSubscriptions"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(msg.Params, &p); err != nil {
		return nil, errorf(jsonrpc.CodeInvalidParams, "subscriptions/listen: malformed params")
	}
	f := &listenFilter{
		id:           msg.ID,
		tools:        p.Notifications.ToolsListChanged,
		prompts:      p.Notifications.PromptsListChanged,
		resources:    p.Notifications.ResourcesListChanged,
		resourceURIs: map[string]bool{},
	}
	// Resource updates need an upstream subscription on a session-based connection.
	var honoured []string
	for _, uri := range p.Notifications.ResourceSubscriptions {
		srv, err := g.serverForURI(ctx, s, uri)
		if err != nil {
			continue
		}
		l, err := srv.legFor(ctx, s)
		if err != nil || l.protocolVersion == "" {
			continue
		}
		params, _ := json.Marshal(map[string]string{"uri": uri})
		if _, err := l.roundTrip(ctx, "resources/subscribe", params); err != nil {
			continue
		}
		f.resourceURIs[uri] = true
		s.mu.Lock()
		s.subs[uri] = srv
		s.mu.Unlock()
		honoured = append(honoured, uri)
	}
	ack := map[string]any{}
	if f.tools {
		ack["toolsListChanged"] = true
	}
	if f.prompts {
		ack["promptsListChanged"] = true
	}
	if f.resources {
		ack["resourcesListChanged"] = true
	}
	if len(honoured) > 0 {
		ack["resourceSubscriptions"] = honoured
	}
	params, _ := json.Marshal(map[string]any{
		"notifications": ack,
		"_meta":         map[string]json.RawMessage{metaSubscription: msg.ID},
	})
	s.mu.Lock()
	s.listen = f
	s.mu.Unlock()
	s.SetStandalone(st)
	g.mu.Lock()
	g.sessions[s] = struct{}{}
	g.mu.Unlock()
	if err := st.Send(jsonrpc.Notification("notifications/subscriptions/acknowledged", params)); err != nil {
		return nil, err
	}
	// Upstreams of the stateless revision announce changes only on listen streams of their
	// own: open one on each and relay what arrives.
	var wg sync.WaitGroup
	lctx, stopRelays := context.WithCancel(ctx)
	for _, srv := range g.servers {
		if srv.modernOK(lctx) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.relayListen(lctx, s, msg, srv)
			}()
		}
	}
	defer func() {
		stopRelays()
		wg.Wait()
	}()
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	res, _ := json.Marshal(map[string]any{"resultType": "complete", "_meta": map[string]json.RawMessage{metaSubscription: msg.ID}})
	return jsonrpc.Response(msg.ID, res), nil
}

// forListener adapts a notification for a listen stream: nil if the listener did not opt in,
// else the notification tagged with the subscription id.
func (f *listenFilter) forListener(method string, params []byte, raw []byte) []byte {
	switch method {
	case "notifications/tools/list_changed":
		if !f.tools {
			return nil
		}
	case "notifications/prompts/list_changed":
		if !f.prompts {
			return nil
		}
	case "notifications/resources/list_changed":
		if !f.resources {
			return nil
		}
	case "notifications/resources/updated":
		uri, _ := jsonrpc.StringMember(params, "uri")
		if !f.resourceURIs[uri] {
			return nil
		}
	default:
		return nil
	}
	if params == nil {
		params = []byte("{}")
	}
	return jsonrpc.Notification(method, jsonrpc.SetPath(params, f.id, "_meta", metaSubscription))
}

// cacheable reports whether a method's result is a CacheableResult (ttlMs, cacheScope).
func cacheable(method string) bool {
	switch method {
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read":
		return true
	}
	return false
}

// modernize adapts a response for a stateless client: every result says its resultType,
// cacheable results carry ttlMs and cacheScope, results name the server, and the legacy
// resource-not-found code becomes invalid params.
func (g *Gateway) modernize(method string, resp []byte) []byte {
	m, err := jsonrpc.Parse(resp)
	if err != nil {
		return resp
	}
	if m.Error != nil {
		if code, ok := jsonrpc.Member(m.Error, "code"); ok && string(code) == "-32002" {
			return m.WithError(jsonrpc.SetMember(m.Error, "code", []byte("-32602")))
		}
		return resp
	}
	r := m.Result
	if len(r) == 0 || r[0] != '{' {
		return resp
	}
	changed := false
	if _, ok := jsonrpc.Member(r, "resultType"); !ok {
		r = jsonrpc.SetMember(r, "resultType", []byte(`"complete"`))
		changed = true
	}
	if cacheable(method) {
		if _, ok := jsonrpc.Member(r, "ttlMs"); !ok {
			r = jsonrpc.SetMember(r, "ttlMs", []byte("0"))
			changed = true
		}
		if _, ok := jsonrpc.Member(r, "cacheScope"); !ok {
			r = jsonrpc.SetMember(r, "cacheScope", []byte(`"private"`))
			changed = true
		}
	}
	if _, ok := jsonrpc.Path(r, "_meta", metaServerInfo); !ok {
		info, _ := json.Marshal(map[string]string{"name": g.name, "version": g.version})
		r = jsonrpc.SetPath(r, info, "_meta", metaServerInfo)
		changed = true
	}
	if !changed {
		return resp
	}
	return m.WithResult(r)
}

// modernOK reports whether srv speaks the stateless revision, asking it once with
// server/discover (its capabilities are learned on the way).
func (s *server) modernOK(ctx context.Context) bool {
	if s.stateless == nil {
		return false
	}
	s.mu.Lock()
	st := s.modern
	s.mu.Unlock()
	if st != modernUnknown {
		return st == modernYes
	}
	params, _ := json.Marshal(map[string]any{"_meta": map[string]any{
		metaVersion:      ModernVersion,
		metaCapabilities: map[string]any{},
		metaClientInfo:   map[string]any{"name": s.g.name, "version": s.g.version},
	}})
	hdr := http.Header{}
	hdr.Set("Mcp-Protocol-Version", ModernVersion)
	hdr.Set("Mcp-Method", "server/discover")
	var res []byte
	rep, err := s.stateless.Do(ctx, jsonrpc.Request([]byte("0"), "server/discover", params), hdr, func(b []byte) {
		if m, err := jsonrpc.Parse(b); err == nil && m.Kind == jsonrpc.KindResponse {
			res = m.Result
		}
	})
	if err != nil && rep.Status == 0 {
		// Unreachable: decide another time.
		s.logger.Debug("server/discover failed", "err", err)
		return false
	}
	var d struct {
		SupportedVersions []string        `json:"supportedVersions"`
		Capabilities      json.RawMessage `json:"capabilities"`
	}
	yes := res != nil && json.Unmarshal(res, &d) == nil && slices.Contains(d.SupportedVersions, ModernVersion)
	s.mu.Lock()
	defer s.mu.Unlock()
	if yes {
		s.modern = modernYes
		var caps serverCaps
		if json.Unmarshal(d.Capabilities, &caps) == nil && !s.hasCaps {
			s.caps, s.hasCaps = caps, true
		}
	} else {
		s.modern = modernNo
	}
	s.logger.Info("upstream protocol generation", "stateless_2026", yes)
	return yes
}

// statelessCall forwards a stateless client's request natively to an upstream that speaks
// the same revision: one POST, the client's id kept (ids cannot collide without sessions),
// related notifications (progress, logging) passed through the pipeline to st.
func (g *Gateway) statelessCall(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, srv *server, params []byte) (*jsonrpc.Message, error) {
	if params == nil {
		params = msg.Params
	}
	final, err := g.statelessOnce(ctx, s, msg, st, srv, params)
	if err != nil || s.modern {
		// A stateless client handles input_required itself.
		return final, err
	}
	// A session-based client cannot answer input_required: the gateway asks it the questions
	// as requests of its own and retries with the answers, as a stateless client would.
	for round := 0; ; round++ {
		rt, _ := jsonrpc.StringMember(final.Result, "resultType")
		if rt != "input_required" {
			return final, nil
		}
		if round >= maxInputRounds {
			return nil, &Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q still asked for input after %d rounds", srv.name, maxInputRounds), Data: map[string]string{"server": srv.name}}
		}
		answers, err := g.answerInputRequests(ctx, s, srv, final.Result, st)
		if err != nil {
			return nil, err
		}
		retry := jsonrpc.SetMember(params, "inputResponses", answers)
		if state, ok := jsonrpc.Member(final.Result, "requestState"); ok {
			retry = jsonrpc.SetMember(retry, "requestState", state)
		} else {
			retry = jsonrpc.DeleteMember(retry, "requestState")
		}
		if final, err = g.statelessOnce(ctx, s, msg, st, srv, retry); err != nil {
			return nil, err
		}
	}
}

// maxInputRounds bounds the input_required rounds the gateway bridges for one request.
const maxInputRounds = 10

// answerInputRequests asks a session-based client each of a stateless upstream's input
// requests and returns the inputResponses object.
func (g *Gateway) answerInputRequests(ctx context.Context, s *Session, srv *server, result []byte, st Stream) ([]byte, error) {
	reqs, _ := jsonrpc.Member(result, "inputRequests")
	out := []byte("{}")
	var failure error
	err := jsonrpc.EachMember(reqs, func(key string, req []byte) bool {
		method, _ := jsonrpc.StringMember(req, "method")
		p, ok := jsonrpc.Member(req, "params")
		if !ok {
			p = []byte("{}")
		}
		s.mu.Lock()
		caps := s.client.Capabilities
		s.mu.Unlock()
		var capable bool
		switch method {
		case "sampling/createMessage":
			capable = caps.Sampling != nil
		case "elicitation/create":
			capable = caps.Elicitation != nil
		case "roots/list":
			capable = caps.Roots != nil
		default:
			failure = &Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q asked for input of an unknown kind %q", srv.name, method)}
			return false
		}
		if !capable {
			failure = &Error{Code: jsonrpc.CodeInvalidRequest, Message: fmt.Sprintf("upstream %q needs %s from the client, which did not declare that capability", srv.name, method), Data: map[string]string{"server": srv.name}}
			return false
		}
		m, err := s.askClient(ctx, srv.name, method, p, st)
		if err != nil {
			failure = err
			return false
		}
		if m.Error != nil {
			e, _ := jsonrpc.DecodeError(m.Error)
			failure = &Error{Code: e.Code, Message: fmt.Sprintf("the client declined %s: %s", method, e.Message)}
			return false
		}
		out = jsonrpc.SetMember(out, key, m.Result)
		return true
	})
	if err == nil {
		err = failure
	}
	return out, err
}

// statelessOnce is one POST of a stateless request to srv; it returns the final response.
func (g *Gateway) statelessOnce(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, srv *server, params []byte) (*jsonrpc.Message, error) {
	body := msg.Raw
	if string(params) != string(msg.Params) {
		body = msg.WithParams(params)
	}
	hdr := http.Header{}
	for k, vs := range s.fwd {
		hdr[k] = vs
	}
	hdr.Set("Mcp-Protocol-Version", ModernVersion)
	hdr.Set("Mcp-Method", msg.Method)
	if name, ok := NameHeader(msg.Method, params); ok {
		hdr.Set("Mcp-Name", EncodeHeaderValue(name))
	}
	var final *jsonrpc.Message
	_, err := srv.stateless.Do(ctx, body, hdr, func(b []byte) {
		m, err := jsonrpc.Parse(b)
		if err != nil {
			s.logger.Warn("upstream wrote an invalid JSON-RPC message", "upstream", srv.name, "err", err)
			return
		}
		switch m.Kind {
		case jsonrpc.KindResponse:
			if string(m.ID) == string(msg.ID) {
				final = m
			}
		case jsonrpc.KindNotification:
			if m.Method == "notifications/message" && s.logLevel == "" {
				return
			}
			if (m.Method == "notifications/message" || m.Method == "notifications/progress") && !srv.admitNote(m.Method) {
				return
			}
			env := &Envelope{Dir: ServerToClient, Session: s, Msg: m, Method: m.Method, Server: srv.name}
			if err := g.pipe.Run(ctx, env); err != nil {
				s.logger.Warn("notification withheld", "method", m.Method, "err", err)
				return
			}
			s.notify(env.Bytes(), st)
		default:
			s.logger.Warn("upstream sent a request on a stateless stream; dropped", "upstream", srv.name, "method", m.Method)
		}
	})
	if final != nil {
		return final, nil
	}
	if err == nil {
		err = fmt.Errorf("the response stream ended without a response")
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, ctx.Err()
	}
	return nil, upstreamError(srv.name, err)
}

// relayListen keeps a subscriptions/listen stream open on a stateless upstream for one
// listening client, and passes its notifications on, tagged with the client's subscription.
func (g *Gateway) relayListen(ctx context.Context, s *Session, msg *jsonrpc.Message, srv *server) {
	hdr := http.Header{}
	hdr.Set("Mcp-Protocol-Version", s.client.ProtocolVersion)
	hdr.Set("Mcp-Method", msg.Method)
	_, err := srv.stateless.Do(ctx, msg.Raw, hdr, func(b []byte) {
		m, err := jsonrpc.Parse(b)
		if err != nil || m.Kind != jsonrpc.KindNotification || m.Method == "notifications/subscriptions/acknowledged" {
			return
		}
		g.deliver(s, &leg{srv: srv}, m, m.Raw, nil)
	})
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("upstream listen stream ended", "upstream", srv.name, "err", err)
	}
}

func (s *server) isModernOnly() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modernOnly
}

func (s *server) setModernOnly(cause error) {
	s.mu.Lock()
	already := s.modernOnly
	s.modernOnly = true
	s.lastErr = nil
	s.mu.Unlock()
	if !already {
		s.logger.Info("upstream speaks only the stateless revision; session-based clients reach it request by request", "initialize_error", cause)
	}
}

// withModernMeta adds the per-request _meta of the stateless revision to params of a
// session-based client's request: the protocol version, and the capabilities and client
// info the client declared at initialize.
func (s *Session) withModernMeta(params []byte) []byte {
	if params == nil {
		params = []byte("{}")
	}
	s.mu.Lock()
	init := s.client.Params
	s.mu.Unlock()
	caps, ok := jsonrpc.Member(init, "capabilities")
	if !ok {
		caps = []byte("{}")
	}
	params = jsonrpc.SetPath(params, jsonrpc.Quote(ModernVersion), "_meta", metaVersion)
	params = jsonrpc.SetPath(params, caps, "_meta", metaCapabilities)
	if info, ok := jsonrpc.Member(init, "clientInfo"); ok {
		params = jsonrpc.SetPath(params, info, "_meta", metaClientInfo)
	}
	if lvl := s.logLevel; lvl != "" {
		params = jsonrpc.SetPath(params, jsonrpc.Quote(lvl), "_meta", metaLogLevel)
	}
	return params
}

// stripModernMeta removes the stateless revision's per-request keys from params._meta (and
// _meta itself when nothing else is left in it).
func stripModernMeta(params []byte) []byte {
	meta, ok := jsonrpc.Member(params, "_meta")
	if !ok || len(meta) == 0 || meta[0] != '{' {
		return params
	}
	for _, k := range []string{metaVersion, metaCapabilities, metaClientInfo, metaLogLevel} {
		meta = jsonrpc.DeleteMember(meta, k)
	}
	empty := true
	jsonrpc.EachMember(meta, func(string, []byte) bool { empty = false; return false })
	if empty {
		return jsonrpc.DeleteMember(params, "_meta")
	}
	return jsonrpc.SetMember(params, "_meta", meta)
}
