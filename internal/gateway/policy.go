package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/policy"
)

// CodePolicyDenied is the JSON-RPC error of a request the policy refused: distinct from
// "not found", so that a client (and its user) can tell a refusal from a mistake.
const CodePolicyDenied = -32003

// checkPolicy is the policy stage: it decides routed client requests (refusing what the
// policy does not allow, redacting arguments) and redacts results the decision names.
func (g *Gateway) checkPolicy(ctx context.Context, env *Envelope) error {
	switch {
	case env.Dir == ClientToServer && env.Server != "":
		return g.decide(env)
	case env.Dir == ServerToClient && env.Req != nil && env.Req.Decision != nil && len(env.Req.Decision.RedactResult) > 0:
		return redactResult(env)
	}
	return nil
}

func (g *Gateway) decide(env *Envelope) error {
	pol := g.Policy()
	s := env.Session
	if env.Kind == "" {
		// A method an upstream's allow_methods admits: it names no tool, prompt or resource,
		// so only tenant isolation applies.
		if !pol.ServerVisible(s.identity, env.Server) {
			return denied(env, policy.Decision{Effect: "deny", Rule: policy.RuleTenant, Reason: fmt.Sprintf("server %q belongs to another tenant", env.Server)})
		}
		return nil
	}
	req := &policy.Request{Identity: s.identity, Server: env.Server, Kind: env.Kind, Name: env.Name, Now: time.Now(), Memo: &s.policyMemo}
	if env.Kind == policy.KindTool {
		req.Arguments, _ = jsonrpc.Member(env.Params, "arguments")
		if srv := g.byName[env.Server]; srv != nil {
			req.Annotations = srv.annotations(env.Name)
		}
	}
	s.mu.Lock()
	req.History = policy.History{Tools: s.history.Tools, Tags: s.history.Tags, Findings: s.history.Findings}
	s.mu.Unlock()
	d := pol.Decide(req)
	env.Decision = &d
	if !d.Allow {
		return denied(env, d)
	}
	if env.Kind == policy.KindTool && env.Method == "tools/call" {
		// Recorded once allowed: a call that reached the upstream may have read what
		// later conditions care about, whatever its outcome.
		s.mu.Lock()
		pol.AddToHistory(&s.history, env.Server, env.Name)
		s.mu.Unlock()
	}
	if len(d.RedactArguments) > 0 && env.Kind == policy.KindTool {
		args, ok := jsonrpc.Member(env.Params, "arguments")
		if ok {
			red, changed, err := policy.Redact(args, d.RedactArguments)
			if err != nil {
				return &Error{Code: jsonrpc.CodeInvalidParams, Message: "arguments are not valid JSON", Cause: err}
			}
			if changed {
				env.Params = jsonrpc.SetMember(env.Params, "arguments", red)
			}
		}
	}
	return nil
}

func denied(env *Envelope, d policy.Decision) error {
	env.Session.logger.Warn("request denied by policy", "method", env.Method, "server", env.Server, "name", env.Name,
		"identity", env.Session.identity.String(), "rule", d.Rule, "effect", d.Effect, "reason", d.Reason)
	return &Error{
		Code:    CodePolicyDenied,
		Message: fmt.Sprintf("denied by policy (rule %q): %s", d.Rule, d.Reason),
		Data:    map[string]string{"rule": d.Rule, "effect": d.Effect, "reason": d.Reason, "server": env.Server},
	}
}

func redactResult(env *Envelope) error {
	m := env.Msg
	if m.Result == nil {
		return nil
	}
	red, changed, err := policy.Redact(m.Result, env.Req.Decision.RedactResult)
	if err != nil {
		// A result the gateway cannot parse cannot be redacted: withhold it.
		return &Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q returned a result that could not be redacted", env.Server), Cause: err}
	}
	if changed {
		env.Out = m.WithResult(red)
	}
	return nil
}

// listable decides whether a list item goes to the session, and remembers tool annotations
// for conditions.
func (g *Gateway) listable(pol *policy.Policy, s *Session, srv *server, kind listKind, item []byte) bool {
	var k policy.Kind
	var name string
	switch kind.key {
	case "tools":
		k = policy.KindTool
		name, _ = jsonrpc.StringMember(item, "name")
		if ann, ok := jsonrpc.Member(item, "annotations"); ok {
			srv.setAnnotations(name, ann)
		}
	case "prompts":
		k = policy.KindPrompt
		name, _ = jsonrpc.StringMember(item, "name")
	case "resources":
		k = policy.KindResource
		name, _ = jsonrpc.StringMember(item, "uri")
	case "resourceTemplates":
		k = policy.KindResource
		name, _ = jsonrpc.StringMember(item, "uriTemplate")
	default:
		return true
	}
	return pol.Visible(s.identity, srv.name, k, name)
}

// setAnnotations remembers a tool's annotations as the server declared them.
func (s *server) setAnnotations(tool string, raw []byte) {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	s.annMu.Lock()
	defer s.annMu.Unlock()
	if s.ann == nil {
		s.ann = make(map[string]map[string]any)
	}
	s.ann[tool] = m
}

// annotations returns what setAnnotations remembered (nil if the tool was never listed).
func (s *server) annotations(tool string) map[string]any {
	s.annMu.Lock()
	defer s.annMu.Unlock()
	return s.ann[tool]
}
