package gateway

import (
	"context"
	"fmt"
	"time"

	"gatehouse/internal/jsonrpc"
)

// Messages an upstream starts itself: requests to the client (sampling, elicitation, roots)
// and notifications (progress, logging, list changes, resource updates, cancellation).

// target picks the session and stream for a request from leg l: the call whose response
// stream carried it, else the leg's owner, else the one session with calls in flight on the
// shared leg. When several sessions have calls in flight on a shared leg that cannot say which
// call a message belongs to, there is no safe choice: ambiguous is set and nobody is chosen
// (a security gateway does not hand one client's request to another).
func (g *Gateway) target(l *leg, rc *call) (sess *Session, st Stream, ambiguous bool) {
	if rc != nil && rc.sess != nil {
		return rc.sess, rc.stream, false
	}
	c, n := l.soleCall()
	if l.owner != nil {
		if c != nil {
			return l.owner, c.stream, false
		}
		return l.owner, nil, false
	}
	if c != nil {
		return c.sess, c.stream, false
	}
	return nil, nil, n > 1
}

func (g *Gateway) replyUpstream(l *leg, b []byte) {
	ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
	defer cancel()
	if err := l.conn.Send(ctx, b); err != nil {
		l.logger.Debug("reply to upstream not delivered", "err", err)
	}
}

// serverRequest routes a request from an upstream to the right client.
func (g *Gateway) serverRequest(l *leg, m *jsonrpc.Message, rc *call) {
	if m.Method == "ping" {
		// The gateway is the upstream's peer; it answers for itself.
		go g.replyUpstream(l, jsonrpc.Response(m.ID, []byte("{}")))
		return
	}
	sess, st, ambiguous := g.target(l, rc)
	if ambiguous {
		l.logger.Warn("server-to-client request refused: several clients have calls in flight on this shared upstream and it does not say whose call this is (use sharing: per_session)", "method", m.Method)
		go g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeInternalError, "gateway: cannot tell which client this request is for (shared upstream with several clients in flight)", nil))
		return
	}
	if sess == nil && m.Method == "roots/list" {
		// A shared upstream asking outside any call: no client's roots apply, so it gets none.
		go g.replyUpstream(l, jsonrpc.Response(m.ID, []byte(`{"roots":[]}`)))
		return
	}
	if sess == nil {
		go g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeInternalError, "gateway: no client session to route this request to", nil))
		return
	}
	var capable bool
	var capName string
	sess.mu.Lock()
	caps := sess.client.Capabilities
	sess.mu.Unlock()
	switch m.Method {
	case "sampling/createMessage":
		capable, capName = caps.Sampling != nil, "sampling"
	case "elicitation/create":
		capable, capName = caps.Elicitation != nil, "elicitation"
	case "roots/list":
		capable, capName = caps.Roots != nil, "roots"
	default:
		capable = l.srv.allowMethods[m.Method]
		if !capable || sess.modern {
			go g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeMethodNotFound, fmt.Sprintf("gateway: method %q is not forwarded to clients", m.Method), nil))
			return
		}
	}
	if sess.modern {
		// A stateless (2026-07-28) client is asked through input_required rounds.
		if !sess.bridgeAsk(l, m, capable, capName) {
			reason := fmt.Sprintf("gateway: the client (protocol %s) cannot be asked %s now", ModernVersion, m.Method)
			if !capable {
				reason = fmt.Sprintf("client does not support %s", m.Method)
			}
			go g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeMethodNotFound, reason, nil))
		}
		return
	}
	if !capable {
		go g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeMethodNotFound, fmt.Sprintf("client does not support %s", m.Method), nil))
		return
	}
	go func() {
		env := &Envelope{Dir: ServerToClient, Session: sess, Msg: m, Method: m.Method, Server: l.srv.name}
		if err := g.pipe.Run(sess.ctx, env); err != nil {
			g.replyUpstream(l, errorResponse(m.ID, err))
			return
		}
		if err := sess.sendRequest(l, m, env.Bytes(), st); err != nil {
			g.replyUpstream(l, jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeInternalError, "gateway: "+err.Error(), nil))
		}
	}()
}

// serverNotification routes a notification from an upstream.
func (g *Gateway) serverNotification(l *leg, m *jsonrpc.Message, rc *call) {
	switch m.Method {
	case "notifications/progress":
		if !l.srv.admitNote(m.Method) {
			return
		}
		tok, ok := jsonrpc.Member(m.Params, "progressToken")
		if !ok {
			return
		}
		id, ok := parseLegID(tok)
		if !ok {
			return
		}
		c := l.callByID(id)
		if c == nil || c.sess == nil || c.clientToken == nil {
			return
		}
		b := m.WithParams(jsonrpc.SetMember(m.Params, "progressToken", c.clientToken))
		g.deliver(c.sess, l, m, b, c.stream)
	case "notifications/message":
		if !l.srv.admitNote(m.Method) {
			return
		}
		level, _ := jsonrpc.StringMember(m.Params, "level")
		for _, sess := range g.recipients(l, rc) {
			sess.mu.Lock()
			min := sess.logLevel
			sess.mu.Unlock()
			if min == "" && sess.modern {
				continue // the stateless revision logs only when the request asked for it
			}
			if min != "" && logLevelRank(level) < logLevelRank(min) {
				continue
			}
			g.deliver(sess, l, m, m.Raw, streamOf(l, sess, rc))
		}
	case "notifications/cancelled":
		// The upstream withdraws one of its requests to a client.
		reqID, ok := jsonrpc.Member(m.Params, "requestId")
		if !ok {
			return
		}
		for _, sess := range g.sessionsOf(l) {
			if id, st, ok := sess.takeOut(l, reqID); ok {
				b := m.WithParams(jsonrpc.SetMember(m.Params, "requestId", jsonrpc.IntID(id)))
				g.deliver(sess, l, m, b, st)
			}
		}
	case "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed":
		sessions := g.sessionsOf(l)
		if g.pins != nil && len(sessions) > 0 {
			// Check the new definitions at once, through a session that sees them, before
			// any client lists them.
			lk := map[string]listKind{"notifications/tools/list_changed": listTools, "notifications/prompts/list_changed": listPrompts,
				"notifications/resources/list_changed": listTemplates}[m.Method]
			sess := sessions[0]
			l.srv.relists.do(lk.method, relistGap, func() {
				go func() { _ = g.relist(sess.ctx, sess, nil, l.srv, lk, nil) }() // failures are logged
			}, func() bool { return g.ctx.Err() != nil })
		}
		for _, sess := range sessions {
			sess.listChanged.do(m.Method, listChangedGap, func() { g.deliver(sess, l, m, m.Raw, nil) },
				func() bool { return sess.ctx.Err() != nil })
		}
	case "notifications/resources/updated":
		uri, _ := jsonrpc.StringMember(m.Params, "uri")
		for _, sess := range g.sessionsOf(l) {
			sess.mu.Lock()
			_, subscribed := sess.subs[uri]
			sess.mu.Unlock()
			if subscribed {
				g.deliver(sess, l, m, m.Raw, nil)
			}
		}
	case "notifications/elicitation/complete":
		for _, sess := range g.recipients(l, rc) {
			g.deliver(sess, l, m, m.Raw, streamOf(l, sess, rc))
		}
	default:
		if l.srv.allowMethods[m.Method] {
			for _, sess := range g.recipients(l, rc) {
				g.deliver(sess, l, m, m.Raw, streamOf(l, sess, rc))
			}
			return
		}
		l.logger.Debug("upstream notification not forwarded", "method", m.Method)
	}
}

// recipients are the sessions a notification concerns: the related call's; the leg's owner;
// on a shared leg, the one session with calls in flight. With no call in flight the message
// is the server's own and goes to every session on the leg; with calls of several sessions in
// flight it cannot be attributed and goes to nobody.
func (g *Gateway) recipients(l *leg, rc *call) []*Session {
	if rc != nil && rc.sess != nil {
		return []*Session{rc.sess}
	}
	if l.owner != nil {
		return []*Session{l.owner}
	}
	c, n := l.soleCall()
	switch {
	case c != nil:
		return []*Session{c.sess}
	case n > 1:
		l.logger.Debug("notification withheld: several clients have calls in flight on this shared upstream")
		return nil
	}
	return g.sessionsOf(l)
}

// streamOf returns the stream of sess's call in flight on l, for messages that belong to it.
func streamOf(l *leg, sess *Session, rc *call) Stream {
	if rc != nil && rc.sess == sess {
		return rc.stream
	}
	if c, _ := l.soleCall(); c != nil && c.sess == sess {
		return c.stream
	}
	return nil
}

// deliver runs the pipeline on a notification and sends it.
func (g *Gateway) deliver(sess *Session, l *leg, m *jsonrpc.Message, b []byte, st Stream) {
	if f := sess.listen; f != nil {
		if b = f.forListener(m.Method, m.Params, b); b == nil {
			return
		}
	}
	env := &Envelope{Dir: ServerToClient, Session: sess, Msg: m, Method: m.Method, Server: l.srv.name, Out: b}
	if err := g.pipe.Run(sess.ctx, env); err != nil {
		sess.logger.Warn("notification withheld", "method", m.Method, "err", err)
		return
	}
	sess.notify(env.Bytes(), st)
}
