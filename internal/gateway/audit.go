package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gatehouse/internal/audit"
	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
)

// CodeAuditUnavailable refuses a request whose audit record could not be made durable: the
// gateway does not forward what it could not record.
const CodeAuditUnavailable = -32006

// auditRequest records the decision on a routed client request and waits until the record
// is durable. A write that fails refuses the request, unless the configuration chose to
// fail open (then it is logged, loudly, and the request goes on).
func (g *Gateway) auditRequest(ctx context.Context, env *Envelope, refused error) error {
	if g.audit == nil || env.Server == "" || env.Msg == nil || env.Msg.Kind != jsonrpc.KindRequest {
		return nil
	}
	s := env.Session
	kind := audit.KindRequest
	if env.Dir == ServerToClient {
		// An upstream asking the client (sampling, elicitation, roots): recorded before the
		// client sees it.
		kind = audit.KindServerRequest
	}
	rec := &audit.Record{Time: time.Now(), Kind: kind, Session: s.id, Remote: s.remote,
		Method: env.Method, Server: env.Server, Target: env.Name}
	if id := s.identity; id != nil {
		rec.Subject, rec.Tenant, rec.ClientID, rec.Roles, rec.AuthMethod = id.Subject, id.Tenant, id.ClientID, id.Roles, string(id.Method)
	}
	if kind == audit.KindServerRequest {
		rec.Arguments = g.audit.Valuer().Arguments(env.Server, env.Method, env.Msg.Params)
	} else if args, ok := jsonrpc.Member(env.Params, "arguments"); ok {
		rec.Arguments = g.audit.Valuer().Arguments(env.Server, env.Name, args)
	}
	rec.Findings = env.Findings
	rec.Arguments = scrubSecrets(rec.Arguments, env.Secrets)
	switch d := env.Decision; {
	case d != nil:
		rec.Decision, rec.Rules, rec.Reason = d.Effect, d.Matched, d.Reason
		if len(rec.Rules) == 0 || rec.Rules[0] != d.Rule {
			rec.Rules = append([]string{d.Rule}, d.Matched...)
		}
	case refused != nil:
		rec.Decision = "deny"
	default:
		rec.Decision = "allow"
	}
	if refused != nil {
		rec.Outcome = "refused"
		var e *Error
		if errors.As(refused, &e) {
			rec.ErrorCode, rec.Reason = e.Code, e.Message
		}
	}
	// Detached from the client: one that disconnects cannot drop its own record.
	err := g.audit.Write(context.WithoutCancel(ctx), rec)
	if err == nil {
		env.AuditSeq = rec.Seq
		return nil
	}
	if g.auditFailOpen {
		s.logger.Error("AUDIT RECORD LOST (audit.fail_open is set, so the request goes on)", "method", env.Method, "server", env.Server, "err", err)
		return nil
	}
	s.logger.Error("request refused: its audit record could not be written", "method", env.Method, "server", env.Server, "err", err)
	return &Error{Code: CodeAuditUnavailable, Message: "the audit trail is unavailable, so the request was not forwarded", Cause: err}
}

// auditOutcome records what came of a forwarded request: out is the response as sent, with
// its parsed error object or result (the response is not parsed again). It does not wait:
// the request's own record is already durable.
func (g *Gateway) auditOutcome(env *Envelope, start time.Time, out, errObj, result []byte, err error) {
	if g.audit == nil || env.AuditSeq == 0 {
		return
	}
	rec := &audit.Record{Time: time.Now(), Kind: audit.KindOutcome, Ref: env.AuditSeq, Session: env.Session.id,
		Method: env.Method, Server: env.Server, Target: env.Name, LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
	if id := env.Session.identity; id != nil {
		rec.Subject, rec.Tenant = id.Subject, id.Tenant
	}
	switch {
	case err != nil:
		rec.Outcome = "upstream_error"
		var e *Error
		if errors.As(err, &e) {
			rec.ErrorCode, rec.Reason = e.Code, e.Message
			if e.Code == CodeInspectionBlocked {
				rec.Outcome = "refused"
			}
		} else {
			rec.Reason = fmt.Sprint(err)
		}
	default:
		rec.ResponseBytes, rec.ResponseDigest = len(out), g.audit.Valuer().Digest(out)
		rec.Outcome = "result"
		if errObj != nil {
			rec.Outcome = "error"
			if e, derr := jsonrpc.DecodeError(errObj); derr == nil {
				rec.ErrorCode = e.Code
			}
		} else {
			rec.Result = scrubSecrets(g.audit.Valuer().Result(env.Server, env.Name, result), env.Secrets)
		}
	}
	rec.Findings = env.RespFindings
	g.audit.Enqueue(rec)
}

// SecurityEvent records a refused attempt worth keeping, durably, detached from ctx's
// cancellation. Without an audit trail it is only logged (by the caller).
func (g *Gateway) SecurityEvent(ctx context.Context, event string, id *identity.Identity, detail map[string]any) {
	if g.audit == nil {
		return
	}
	b, _ := json.Marshal(detail)
	rec := &audit.Record{Time: time.Now(), Kind: audit.KindSecurity, Event: event, Detail: b}
	if id != nil {
		rec.Subject, rec.Tenant, rec.ClientID, rec.AuthMethod = id.Subject, id.Tenant, id.ClientID, string(id.Method)
	}
	if err := g.audit.Write(context.WithoutCancel(ctx), rec); err != nil {
		g.logger.Error("security event not recorded", "event", event, "err", err)
	}
}

// scrubSecrets replaces the values of secrets inspection found wherever a field rule kept
// them clear: a secret is never written to the audit trail as it was.
func scrubSecrets(raw json.RawMessage, secrets []string) json.RawMessage {
	if len(raw) == 0 || len(secrets) == 0 {
		return raw
	}
	out := raw
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		enc, _ := json.Marshal(s)
		esc := enc[1 : len(enc)-1] // as it stands inside a JSON string
		if bytes.Contains(out, esc) {
			out = bytes.ReplaceAll(out, esc, []byte("[REDACTED:secret]"))
		}
	}
	return out
}
