package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/policy"
)

// dispatch routes one client request by method.
func (g *Gateway) dispatch(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	switch msg.Method {
	case "initialize":
		return g.initialize(ctx, s, msg)
	case "ping":
		return jsonrpc.Response(msg.ID, []byte("{}")), nil
	case "tools/list":
		return g.list(ctx, s, msg, st, listTools)
	case "prompts/list":
		return g.list(ctx, s, msg, st, listPrompts)
	case "resources/list":
		return g.list(ctx, s, msg, st, listResources)
	case "resources/templates/list":
		return g.list(ctx, s, msg, st, listTemplates)
	case "tools/call", "prompts/get":
		return g.forwardNamed(ctx, s, msg, st)
	case "resources/read":
		return g.forwardByURI(ctx, s, msg, st)
	case "resources/subscribe", "resources/unsubscribe":
		return g.subscription(ctx, s, msg, st)
	case "completion/complete":
		return g.complete(ctx, s, msg, st)
	case "logging/setLevel":
		return g.setLevel(ctx, s, msg, st)
	case "server/discover":
		// The stateless 2026-07-28 revision is not served on session-based connections; this
		// error makes 2026-capable clients fall back to initialize.
		return nil, errorf(jsonrpc.CodeMethodNotFound, "server/discover is not available: this endpoint speaks the session-based protocol (%s)", strings.Join(sessionVersions(), ", "))
	}
	return g.forwardOther(ctx, s, msg, st)
}

func (g *Gateway) initialize(ctx context.Context, s *Session, msg *jsonrpc.Message) ([]byte, error) {
	if s.Initialized() {
		return nil, errorf(jsonrpc.CodeInvalidRequest, "session is already initialized")
	}
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if msg.Params == nil || json.Unmarshal(msg.Params, &p) != nil || p.ProtocolVersion == "" {
		return nil, errorf(jsonrpc.CodeInvalidParams, "initialize needs params with protocolVersion, capabilities and clientInfo")
	}
	var ci ClientInfo
	if caps, ok := jsonrpc.Member(msg.Params, "capabilities"); ok {
		if err := json.Unmarshal(caps, &ci.Capabilities); err != nil {
			return nil, errorf(jsonrpc.CodeInvalidParams, "initialize: capabilities must be an object")
		}
	}
	ci.ProtocolVersion = p.ProtocolVersion
	if !supportedVersion(p.ProtocolVersion) {
		ci.ProtocolVersion = sessionVersions()[0] // the client decides whether it can speak ours
	}
	ci.Params = msg.Params
	s.mu.Lock()
	s.client = ci
	s.mu.Unlock()

	// Per-session upstream connections open on first use. Only an upstream whose capabilities
	// are not known yet is connected now, so that they can be announced; one that fails is left
	// out and tried again on first use. Idle sessions thus cost the upstreams nothing.
	var wg sync.WaitGroup
	pol := g.Policy()
	for _, srv := range g.servers {
		if srv.shared || srv.isModernOnly() || !pol.ServerVisible(s.identity, srv.name) {
			continue
		}
		if _, known := srv.knownCaps(); known {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ownLeg(ctx, srv); err != nil {
				if srv.stateless != nil && srv.modernOK(ctx) {
					srv.setModernOnly(err)
					return
				}
				s.logger.Warn("upstream not connected at initialize", "upstream", srv.name, "err", err)
			}
		}()
	}
	wg.Wait()

	// Shared upstreams connect at start; a client that initializes right away (stdio mode)
	// must still hear what they offer, so wait for their first attempt (bounded).
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	for _, srv := range g.servers {
		if srv.shared {
			select {
			case <-srv.ready:
			case <-wctx.Done():
			}
		}
	}
	wcancel()

	result, _ := json.Marshal(map[string]any{
		"protocolVersion": ci.ProtocolVersion,
		"capabilities":    g.capabilities(),
		"serverInfo":      map[string]any{"name": g.name, "version": g.version},
	})
	s.mu.Lock()
	s.initialized = true
	s.mu.Unlock()
	s.logger.Info("session initialized", "protocol_version", ci.ProtocolVersion, "remote", s.remote)
	return jsonrpc.Response(msg.ID, result), nil
}

// split resolves a namespaced name to its server and the upstream's own name.
func (g *Gateway) split(name string) (*server, string, bool) {
	if srvName, rest, ok := strings.Cut(name, g.sep); ok && rest != "" {
		if srv := g.byName[srvName]; srv != nil && !srv.plain {
			return srv, rest, true
		}
	}
	if g.plain != nil && name != "" {
		return g.plain, name, true
	}
	return nil, "", false
}

// forwardNamed forwards tools/call and prompts/get to the server named by the prefix.
func (g *Gateway) forwardNamed(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	name, ok := jsonrpc.StringMember(msg.Params, "name")
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "%s needs params.name", msg.Method)
	}
	srv, local, ok := g.split(name)
	if !ok {
		kind := "tool"
		if msg.Method == "prompts/get" {
			kind = "prompt"
		}
		return nil, errorf(jsonrpc.CodeInvalidParams, "unknown %s %q: names have the form <server>%s<name>", kind, name, g.sep)
	}
	meta, _ := jsonrpc.Member(msg.Params, "_meta")
	if err := g.pinnedForCall(ctx, s, srv, msg.Method, local, meta); err != nil {
		return nil, err
	}
	if err := g.poisonedForCall(srv, msg.Method, local); err != nil {
		return nil, err
	}
	params := jsonrpc.SetMember(msg.Params, "name", jsonrpc.Quote(local))
	return g.forward(ctx, s, msg, st, srv, local, params)
}

// kindOf says what a routed request targets, for the policy.
func kindOf(method string, params []byte) policy.Kind {
	switch method {
	case "tools/call":
		return policy.KindTool
	case "prompts/get":
		return policy.KindPrompt
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return policy.KindResource
	case "completion/complete":
		ref, _ := jsonrpc.Member(params, "ref")
		if t, _ := jsonrpc.StringMember(ref, "type"); t == "ref/prompt" {
			return policy.KindPrompt
		}
		return policy.KindResource
	}
	return ""
}

// forward runs the pipeline on a routed request, sends it on the session's leg to srv, runs
// the pipeline on the response and returns it with the client's id.
func (g *Gateway) forward(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, srv *server, name string, params []byte) ([]byte, error) {
	env := &Envelope{Dir: ClientToServer, Session: s, Msg: msg, Method: msg.Method, Server: srv.name, Name: name,
		Kind: kindOf(msg.Method, params), Params: params}
	if err := g.pipe.Run(ctx, env); err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := g.call(ctx, s, msg, st, srv, env.Params)
	if err == nil {
		resp, err = g.respondMsg(ctx, s, msg, srv, name, resp, env)
	}
	if err != nil {
		g.auditOutcome(env, start, nil, nil, nil, err)
		return nil, err
	}
	// Taken before TakeWithID ends resp: the spans stay valid, as only the id is rewritten.
	errObj, result := resp.Error, resp.Result
	// The upstream's response is the gateway's own copy (upstream.Handler) and dies here.
	out := resp.TakeWithID(msg.ID)
	g.auditOutcome(env, start, out, errObj, result, nil)
	return out, nil
}

// call sends msg (with params) on the session's leg to srv and waits for the response.
func (g *Gateway) call(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream, srv *server, params []byte) (*jsonrpc.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, srv.timeout)
	defer cancel()
	if s.modern && srv.modernOK(ctx) {
		return g.statelessCall(ctx, s, msg, st, srv, params)
	}
	if !s.modern && srv.isModernOnly() {
		return g.statelessCall(ctx, s, msg, st, srv, s.withModernMeta(params))
	}
	if s.modern {
		// Towards a session-based upstream the per-request protocol data must go: servers
		// refuse a session request that claims the stateless revision.
		params = stripModernMeta(params)
	}
	l, err := srv.legFor(ctx, s)
	if err != nil {
		// An upstream that refuses a session but speaks the stateless revision is still
		// reachable: requests go to it one by one, with the session's client data as _meta.
		if srv.stateless != nil && srv.modernOK(ctx) {
			srv.setModernOnly(err)
			return g.statelessCall(ctx, s, msg, st, srv, s.withModernMeta(params))
		}
		return nil, err
	}
	return l.forward(ctx, s, msg, params, st)
}

// respondMsg runs the pipeline on an upstream response and returns the message as it now
// stands (still with the upstream's id).
func (g *Gateway) respondMsg(ctx context.Context, s *Session, req *jsonrpc.Message, srv *server, name string, resp *jsonrpc.Message, reqEnv *Envelope) (*jsonrpc.Message, error) {
	env := &Envelope{Dir: ServerToClient, Session: s, Msg: resp, Method: req.Method, Server: srv.name, Name: name, Req: reqEnv}
	if reqEnv != nil {
		env.Kind = reqEnv.Kind
	}
	if err := g.pipe.Run(ctx, env); err != nil {
		return nil, err
	}
	if env.Out == nil {
		return resp, nil
	}
	m, err := jsonrpc.Parse(env.Out)
	if err != nil {
		return nil, fmt.Errorf("stage produced an invalid message: %w", err)
	}
	return m, nil
}

// serverForURI finds the server of a resource URI: learned from lists, then the servers'
// templates, then the only server that has resources.
func (g *Gateway) serverForURI(ctx context.Context, s *Session, uri string) (*server, error) {
	s.mu.Lock()
	srv := s.uriOwner[uri]
	s.mu.Unlock()
	if srv != nil {
		return srv, nil
	}
	if srv := g.matchTemplate(s, uri); srv != nil {
		return srv, nil
	}
	var candidates []*server
	for _, c := range g.servers {
		if caps, ok := c.knownCaps(); !ok || caps.Resources != nil {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 1 {
		return candidates[0], nil
	}
	// Learn from the lists once, then decide.
	if _, err := g.list(ctx, s, nil, nil, listResources); err == nil {
		s.mu.Lock()
		srv = s.uriOwner[uri]
		s.mu.Unlock()
		if srv != nil {
			return srv, nil
		}
	}
	if _, err := g.list(ctx, s, nil, nil, listTemplates); err == nil {
		if srv := g.matchTemplate(s, uri); srv != nil {
			return srv, nil
		}
	}
	return nil, &Error{Code: jsonrpc.CodeResourceNotFound, Message: fmt.Sprintf("resource not found: no upstream serves %q", uri), Data: map[string]string{"uri": uri}}
}

// forwardByURI forwards resources/read (and subscribe/unsubscribe) to the URI's server.
func (g *Gateway) forwardByURI(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	uri, ok := jsonrpc.StringMember(msg.Params, "uri")
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "%s needs params.uri", msg.Method)
	}
	srv, err := g.serverForURI(ctx, s, uri)
	if err != nil {
		return nil, err
	}
	return g.forward(ctx, s, msg, st, srv, uri, msg.Params)
}

func (g *Gateway) subscription(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	uri, ok := jsonrpc.StringMember(msg.Params, "uri")
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "%s needs params.uri", msg.Method)
	}
	srv, err := g.serverForURI(ctx, s, uri)
	if err != nil {
		return nil, err
	}
	if caps, ok := srv.knownCaps(); ok && (caps.Resources == nil || !caps.Resources.Subscribe) {
		return nil, errorf(jsonrpc.CodeMethodNotFound, "upstream %q does not support resource subscriptions", srv.name)
	}
	resp, err := g.forward(ctx, s, msg, st, srv, uri, msg.Params)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if msg.Method == "resources/subscribe" {
		s.subs[uri] = srv
	} else {
		delete(s.subs, uri)
	}
	s.mu.Unlock()
	return resp, nil
}

// complete routes completion/complete by its ref: a namespaced prompt or a resource URI.
func (g *Gateway) complete(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	ref, ok := jsonrpc.Member(msg.Params, "ref")
	if !ok {
		return nil, errorf(jsonrpc.CodeInvalidParams, "completion/complete needs params.ref")
	}
	typ, _ := jsonrpc.StringMember(ref, "type")
	switch typ {
	case "ref/prompt":
		name, _ := jsonrpc.StringMember(ref, "name")
		srv, local, ok := g.split(name)
		if !ok {
			return nil, errorf(jsonrpc.CodeInvalidParams, "unknown prompt %q", name)
		}
		params := jsonrpc.SetMember(msg.Params, "ref", jsonrpc.SetMember(ref, "name", jsonrpc.Quote(local)))
		return g.forward(ctx, s, msg, st, srv, local, params)
	case "ref/resource":
		uri, _ := jsonrpc.StringMember(ref, "uri")
		srv, err := g.serverForURI(ctx, s, uri)
		if err != nil {
			return nil, err
		}
		return g.forward(ctx, s, msg, st, srv, uri, msg.Params)
	}
	return nil, errorf(jsonrpc.CodeInvalidParams, "completion/complete: unknown ref type %q", typ)
}

// setLevel sets the log level on every upstream that logs, and remembers it for the session.
func (g *Gateway) setLevel(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	level, ok := jsonrpc.StringMember(msg.Params, "level")
	if !ok || logLevelRank(level) < 0 {
		return nil, errorf(jsonrpc.CodeInvalidParams, "logging/setLevel needs a valid params.level")
	}
	s.mu.Lock()
	s.logLevel = level
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range g.servers {
		if caps, ok := srv.knownCaps(); ok && caps.Logging == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.forward(ctx, s, msg, st, srv, "", msg.Params); err != nil {
				s.logger.Debug("logging/setLevel not applied upstream", "upstream", srv.name, "err", err)
			}
		}()
	}
	wg.Wait()
	return jsonrpc.Response(msg.ID, []byte("{}")), nil
}

func logLevelRank(l string) int {
	for i, v := range []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"} {
		if v == l {
			return i
		}
	}
	return -1
}

// forwardOther handles methods the gateway does not know: refused unless exactly one
// upstream allows them.
func (g *Gateway) forwardOther(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) ([]byte, error) {
	var allowed []*server
	for _, srv := range g.servers {
		if srv.allowMethods[msg.Method] {
			allowed = append(allowed, srv)
		}
	}
	switch len(allowed) {
	case 0:
		return nil, &Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("method %q is not supported by the gateway (allow it for an upstream with allow_methods)", msg.Method)}
	case 1:
		return g.forward(ctx, s, msg, st, allowed[0], "", msg.Params)
	}
	return nil, &Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("method %q is allowed for several upstreams; the gateway cannot tell which one to use", msg.Method)}
}
