package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"gatehouse/internal/identity"
	"strconv"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/jsonrpc"
)

// Bridging multi-round results (2026-07-28 "input_required") onto session-based upstreams.
//
// A session-based upstream asks the client things mid-call with requests of its own
// (sampling/createMessage, elicitation/create, roots/list). A stateless client cannot receive
// requests; it gets a result of type input_required instead, answers the questions in a retry
// of the same request, and echoes the opaque requestState. The gateway therefore keeps such a
// call running ("parked") while the client answers: the requestState names the parked call,
// and the upstream gets the client's answers under its own request ids.

// mayNeedInput reports whether a method may return input_required.
func mayNeedInput(method string) bool {
	return method == "tools/call" || method == "prompts/get" || method == "resources/read"
}

// mrtrAsk is one upstream request waiting for the client's answer.
type mrtrAsk struct {
	leg        *leg
	upstreamID []byte
	method     string
	params     []byte
}

// mrtrState is what a stateless session needs to park its call.
type mrtrState struct {
	asks    chan mrtrAsk
	missing chan string // a capability the client lacks, which the upstream needs
	relay   *relayStream
}

// relayStream forwards to whichever client request currently carries the call.
type relayStream struct {
	mu  sync.Mutex
	cur Stream
}

func (r *relayStream) Send(b []byte) error {
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	if cur == nil {
		return fmt.Errorf("no open request stream")
	}
	return cur.Send(b)
}

func (r *relayStream) set(st Stream) {
	r.mu.Lock()
	r.cur = st
	r.mu.Unlock()
}

// parked is a call waiting for the client's next round.
type parked struct {
	sess    *Session
	method  string
	name    string
	done    chan []byte // the call's final response (with the first request's id)
	asks    map[string]mrtrAsk
	expires time.Time
	timer   *time.Timer
}

// parkPrefix marks the gateway's own requestState values; others are an upstream's and pass
// through to it.
const parkPrefix = "gatehouse."

// defaultParkTTL bounds how long a parked call waits for the client's retry.
const defaultParkTTL = 5 * time.Minute

// runBridged runs a stateless client's request that may need input rounds. resume is the
// parked call named by the request's requestState, if any.
func (g *Gateway) runBridged(ctx context.Context, s *Session, msg *jsonrpc.Message, st Stream) []byte {
	if state, ok := jsonrpc.StringMember(msg.Params, "requestState"); ok && strings.HasPrefix(state, parkPrefix) {
		return g.resume(ctx, msg, st, state)
	}
	s.mrtr = &mrtrState{asks: make(chan mrtrAsk, 16), missing: make(chan string, 1), relay: &relayStream{cur: st}}
	done := make(chan []byte, 1)
	// The call outlives this HTTP request when it is parked: it runs on its own context,
	// bounded by the session (closed when the call ends or its park expires).
	callCtx := context.WithoutCancel(ctx)
	go func() {
		done <- s.Handle(callCtx, msg, s.mrtr.relay)
	}()
	p := &parked{sess: s, method: msg.Method, done: done, asks: map[string]mrtrAsk{}}
	p.name, _ = NameHeader(msg.Method, msg.Params)
	return g.await(ctx, p, msg.ID)
}

// await waits for the call's outcome, or for questions to the client, which it turns into an
// input_required result (parking the call).
func (g *Gateway) await(ctx context.Context, p *parked, id []byte) []byte {
	s := p.sess
	select {
	case resp := <-p.done:
		s.Close()
		select {
		case capName := <-s.mrtr.missing:
			// The upstream gave up after being refused the capability; the client hears why.
			return missingCapability(id, capName)
		default:
		}
		m, err := jsonrpc.Parse(resp)
		if err != nil {
			return resp
		}
		return m.WithID(id)
	case capName := <-s.mrtr.missing:
		s.Close()
		return missingCapability(id, capName)
	case ask := <-s.mrtr.asks:
		asks := []mrtrAsk{ask}
		// Collect the questions that come together, so that one round answers them all.
		for more := true; more; {
			select {
			case a := <-s.mrtr.asks:
				asks = append(asks, a)
			case <-time.After(20 * time.Millisecond):
				more = false
			}
		}
		return g.park(p, id, asks)
	case <-ctx.Done():
		// A closed stream is the stateless revision's cancellation.
		s.Close()
		return jsonrpc.ErrorResponse(id, jsonrpc.CodeRequestTimeout, "request cancelled", nil)
	}
}

func missingCapability(id []byte, capName string) []byte {
	return jsonrpc.ErrorResponse(id, CodeMissingCapability, fmt.Sprintf("the upstream needs the client capability %q, which this request did not declare", capName),
		map[string]any{"requiredCapabilities": map[string]any{capName: map[string]any{}}})
}

func (g *Gateway) park(p *parked, id []byte, asks []mrtrAsk) []byte {
	s := p.sess
	s.mrtr.relay.set(nil)
	reqs := map[string]any{}
	for i, a := range asks {
		key := "r" + strconv.Itoa(len(p.asks)+i+1)
		p.asks[key] = a
		reqs[key] = map[string]any{"method": a.method, "params": json.RawMessage(a.params)}
	}
	b := make([]byte, 24)
	rand.Read(b) // an unguessable handle: whoever holds it may answer for the call
	state := parkPrefix + hex.EncodeToString(b)
	p.expires = time.Now().Add(g.parkTTL)
	g.parkMu.Lock()
	if g.parks == nil {
		g.parks = map[string]*parked{}
	}
	g.parks[state] = p
	// Set under the lock that unpark reads it under: the timer may fire at any time.
	p.timer = time.AfterFunc(g.parkTTL, func() {
		if g.unpark(state) != nil {
			s.logger.Info("parked call expired without the client's answer", "method", p.method)
			s.Close()
		}
	})
	g.parkMu.Unlock()
	res, _ := json.Marshal(map[string]any{
		"resultType":    "input_required",
		"inputRequests": reqs,
		"requestState":  state,
	})
	return jsonrpc.Response(id, res)
}

func (g *Gateway) unpark(state string) *parked {
	g.parkMu.Lock()
	defer g.parkMu.Unlock()
	p := g.parks[state]
	delete(g.parks, state)
	if p != nil && p.timer != nil {
		p.timer.Stop()
	}
	return p
}

// resume delivers a retry's inputResponses to the parked call and waits again.
func (g *Gateway) resume(ctx context.Context, msg *jsonrpc.Message, st Stream, state string) []byte {
	p := g.unpark(state)
	if p == nil {
		return jsonrpc.ErrorResponse(msg.ID, jsonrpc.CodeInvalidParams, "unknown or expired requestState", nil)
	}
	name, _ := NameHeader(msg.Method, msg.Params)
	if msg.Method != p.method || name != p.name {
		p.sess.Close()
		return jsonrpc.ErrorResponse(msg.ID, jsonrpc.CodeInvalidParams, "requestState belongs to another request", nil)
	}
	// A requestState is not a credential: only the identity that started the call may
	// continue it.
	if who := identity.FromContext(ctx); who.Key() != p.sess.identity.Key() {
		p.sess.logger.Warn("requestState presented by another identity: refused; the parked call ends",
			"owner", p.sess.identity.String(), "presented_by", who.String())
		g.SecurityEvent(ctx, "request_state_presented_by_another_identity", who,
			map[string]any{"owner": p.sess.identity.String(), "method": p.method, "name": p.name})
		p.sess.Close()
		return jsonrpc.ErrorResponse(msg.ID, CodePolicyDenied, "requestState belongs to another identity", nil)
	}
	answers, _ := jsonrpc.Member(msg.Params, "inputResponses")
	answered := map[string]bool{}
	err := jsonrpc.EachMember(answers, func(key string, val []byte) bool {
		a, ok := p.asks[key]
		if !ok {
			return true
		}
		answered[key] = true
		env := &Envelope{Dir: ClientToServer, Session: p.sess, Msg: msg, Method: a.method, Server: a.leg.srv.name}
		if err := g.pipe.Run(ctx, env); err != nil {
			g.replyUpstream(a.leg, errorResponse(a.upstreamID, err))
			return true
		}
		g.replyUpstream(a.leg, jsonrpc.Response(a.upstreamID, val))
		return true
	})
	if err != nil || len(answered) == 0 {
		p.sess.Close()
		return jsonrpc.ErrorResponse(msg.ID, jsonrpc.CodeInvalidParams, "inputResponses must answer the input requests", nil)
	}
	for key, a := range p.asks {
		if !answered[key] {
			g.replyUpstream(a.leg, jsonrpc.ErrorResponse(a.upstreamID, jsonrpc.CodeInternalError, "the client did not answer", nil))
		}
	}
	p.asks = map[string]mrtrAsk{}
	p.sess.mrtr.relay.set(st)
	return g.await(ctx, p, msg.ID)
}

// bridgeAsk hands an upstream's request to the stateless session's parked-call machinery.
// It reports false when the session cannot take it.
func (s *Session) bridgeAsk(l *leg, m *jsonrpc.Message, capable bool, capName string) bool {
	if s.mrtr == nil {
		return false
	}
	if !capable {
		select {
		case s.mrtr.missing <- capName:
		default:
		}
		return false
	}
	params := m.Params
	if params == nil {
		params = []byte("{}")
	}
	select {
	case s.mrtr.asks <- mrtrAsk{leg: l, upstreamID: m.ID, method: m.Method, params: params}:
		return true
	default:
		return false
	}
}
