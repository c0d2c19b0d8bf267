package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/internal/integrity"
	"gatehouse/internal/jsonrpc"
)

// CodeDefinitionWithheld refuses a call to a tool or prompt whose definition is not pinned as
// the upstream now offers it (changed since approval, or new on a pinned server).
const CodeDefinitionWithheld = -32009

// pinKind maps a list to the kind of definition its items are (and whether it is pinned).
func pinKind(kind listKind) (integrity.Kind, bool) {
	switch kind.key {
	case "tools":
		return integrity.KindTool, true
	case "prompts":
		return integrity.KindPrompt, true
	case "resourceTemplates":
		return integrity.KindTemplate, true
	}
	return "", false
}

// definitionName is the name a definition is pinned (and called) by.
func definitionName(kind integrity.Kind, item []byte) string {
	if name, ok := jsonrpc.StringMember(item, "name"); ok {
		return name
	}
	if kind == integrity.KindTemplate {
		u, _ := jsonrpc.StringMember(item, "uriTemplate")
		return u
	}
	return ""
}

// checkPins compares one page of an upstream's definitions, as the upstream sent them, with
// their pins, and returns the names to withhold. Changes are logged, and recorded.
func (g *Gateway) checkPins(ctx context.Context, s *Session, srv *server, kind listKind, result []byte) (withheld map[string]bool, err error) {
	pins := g.pins
	ik, ok := pinKind(kind)
	if pins == nil || !ok {
		return nil, nil
	}
	items, _ := jsonrpc.Member(result, kind.key)
	var defs []integrity.Definition
	if err := jsonrpc.EachElement(items, func(it []byte) bool {
		defs = append(defs, integrity.Definition{Server: srv.name, Kind: ik, Name: definitionName(ik, it), Raw: it})
		return true
	}); err != nil && items != nil {
		return nil, err
	}
	_, more := jsonrpc.StringMember(result, "nextCursor")
	allowed, events, err := pins.Observe(defs, !more, srv.name, ik, time.Now())
	if err != nil {
		// A security gateway that cannot check a definition does not pass it.
		return nil, fmt.Errorf("checking definitions against their pins: %w", err)
	}
	pinned := 0
	for _, ev := range events {
		if ev.Reason == "pinned" {
			pinned++ // first use is the configuration's choice: one line, no record
			continue
		}
		g.pinEvent(ctx, s, ev)
	}
	if pinned > 0 {
		g.logger.Info("definitions pinned on first use", "upstream", srv.name, "kind", string(ik), "count", pinned)
	}
	withheld = map[string]bool{}
	for _, d := range defs {
		if !allowed[integrity.Key(d.Server, d.Kind, d.Name)] {
			withheld[d.Name] = true
		}
	}
	return withheld, nil
}

func (g *Gateway) pinEvent(ctx context.Context, s *Session, ev integrity.Event) {
	detail := map[string]any{"key": ev.Key, "server": ev.Server, "kind": string(ev.Kind), "name": ev.Name, "digest": ev.New}
	switch ev.Reason {
	case "changed":
		detail["previous_digest"] = ev.Old
		detail["diff"] = integrity.Diff(integrity.Pretty(ev.OldDef), integrity.Pretty(ev.NewDef))
		g.logger.Warn("DEFINITION CHANGED: withheld until approved (gatehouse pins diff / approve)", "key", ev.Key, "previous_digest", ev.Old, "digest", ev.New)
	case "new":
		g.logger.Warn("NEW DEFINITION on a pinned server: withheld until approved (gatehouse pins diff / approve)", "key", ev.Key, "digest", ev.New)
	}
	var id = s.identity
	g.SecurityEvent(ctx, "definition_"+ev.Reason, id, detail)
}

// pinnedForCall refuses a call to a tool or prompt whose definition is not pinned as last
// seen. A definition the gateway has not seen yet is listed first (through this session),
// so that a client cannot skip the check by not listing.
//
// meta is the calling request's _meta: a stateless (2026-07-28) client's list must carry the
// same per-request protocol data as its call.
func (g *Gateway) pinnedForCall(ctx context.Context, s *Session, srv *server, method, name string, meta []byte) error {
	if g.pins == nil {
		return nil
	}
	kind, lk := integrity.KindTool, listTools
	if method == "prompts/get" {
		kind, lk = integrity.KindPrompt, listPrompts
	}
	key := integrity.Key(srv.name, kind, name)
	allowed, known := g.pins.Allowed(key)
	if !known {
		err := g.relist(ctx, s, nil, srv, lk, meta)
		if allowed, known = g.pins.Allowed(key); !known {
			if err != nil {
				return &Error{Code: jsonrpc.CodeUpstreamUnavailable, Message: fmt.Sprintf("the definition of %s %q of server %q could not be checked against its pin: %v", kind, name, srv.name, err), Cause: err,
					Data: map[string]string{"server": srv.name}}
			}
			return &Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("server %q does not list %s %q, so its definition cannot be checked: refused", srv.name, kind, name),
				Data: map[string]string{"server": srv.name, "name": name}}
		}
	}
	if allowed {
		return nil
	}
	return &Error{Code: CodeDefinitionWithheld,
		Message: fmt.Sprintf("%s %q of server %q is withheld: its definition is not the approved one (changed, new, or rejected); an administrator must approve it (gatehouse pins diff, gatehouse pins approve)", kind, name, srv.name),
		Data:    map[string]string{"server": srv.name, "name": name, "key": key}}
}

// relist walks every page of one server's list through session s, so that its definitions
// are checked against their pins.
func (g *Gateway) relist(ctx context.Context, s *Session, st Stream, srv *server, kind listKind, meta []byte) error {
	base := []byte("{}")
	if s.modern && meta != nil {
		base = jsonrpc.SetMember(base, "_meta", meta)
	}
	msg, _ := jsonrpc.Parse(jsonrpc.Request([]byte("0"), kind.method, base))
	params := base
	for range 100 { // bounded: an upstream that pages forever is cut off
		pr := g.page(ctx, s, msg, st, srv, kind, params)
		if pr.err != nil {
			s.logger.Warn("re-checking definitions failed", "upstream", srv.name, "method", kind.method, "err", pr.err)
			return pr.err
		}
		if pr.next == "" {
			return nil
		}
		params = jsonrpc.SetMember(base, "cursor", jsonrpc.Quote(pr.next))
	}
	return fmt.Errorf("%s of %s: more than 100 pages", kind.method, srv.name)
}

// RecheckDefinitions lists every definition of every upstream through a session of the
// gateway's own and checks it against its pins: at start-up and periodically, so that a
// change is caught even when no client lists.
func (g *Gateway) RecheckDefinitions(ctx context.Context) {
	if g.pins == nil {
		return
	}
	s := g.newSession("gatehouse", nil, false)
	defer s.Close()
	for _, srv := range g.servers {
		if srv.actsForCaller {
			// Only a client's session can reach it: its definitions are checked when a
			// client lists or calls (and a failed dial here would hold clients back).
			continue
		}
		caps, known := srv.knownCaps()
		for _, lk := range []listKind{listTools, listPrompts, listTemplates} {
			if known && !lk.has(caps) {
				continue
			}
			_ = g.relist(ctx, s, nil, srv, lk, nil) // logged; the next check tries again
			if caps2, ok := srv.knownCaps(); ok {
				caps, known = caps2, true
			}
		}
	}
}

// flagShadowing reports, once per pair, definitions of different servers in one merged list
// that a model could confuse, and descriptions naming another server's tool. They are
// flagged (logged and recorded), not withheld: which of the two is the impostor is for an
// administrator to say.
func (g *Gateway) flagShadowing(ctx context.Context, s *Session, kind listKind, results []pageResult) {
	ik, ok := pinKind(kind)
	if !ok || ik == integrity.KindTemplate || len(results) < 2 {
		return
	}
	var defs []integrity.Definition
	for _, r := range results {
		for _, it := range r.items {
			name := definitionName(ik, it)
			if !r.srv.plain {
				name = strings.TrimPrefix(name, r.srv.name+g.sep)
			}
			defs = append(defs, integrity.Definition{Server: r.srv.name, Kind: ik, Name: name, Raw: it})
		}
	}
	for _, sh := range integrity.Shadowing(defs) {
		if _, seen := g.shadows.LoadOrStore(sh.Key+"\x00"+sh.Other+"\x00"+sh.Reason, true); seen {
			continue
		}
		g.logger.Warn("SHADOWING: definitions a model could confuse", "definition", sh.Key, "other", sh.Other, "reason", sh.Reason)
		g.SecurityEvent(ctx, "definition_shadowing", s.identity, map[string]any{"key": sh.Key, "other": sh.Other, "reason": sh.Reason})
	}
}
