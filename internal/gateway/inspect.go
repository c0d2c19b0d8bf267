package gateway

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/time/rate"

	"gatehouse/internal/inspect"
	"gatehouse/internal/jsonrpc"
)

// CodeInspectionBlocked refuses a message in which inspection found what the configuration
// blocks (or holds for approval): distinct from a policy refusal, and naming the finding.
const CodeInspectionBlocked = -32007

// Inspection is the inspection engine with its action rules; swapped whole on reload.
type Inspection struct {
	Engine   *inspect.Engine
	Actions  inspect.Actions
	MaxBytes int
}

// SetInspection replaces the inspection settings (nil: off).
func (g *Gateway) SetInspection(in *Inspection) { g.insp.Store(in) }

// inspectMsg is the inspection stage: arguments on their way to an upstream; results,
// resource contents, prompt messages and definitions on their way back; sampling and
// elicitation requests an upstream sends to the client; log and progress notifications.
func (g *Gateway) inspectMsg(ctx context.Context, env *Envelope) error {
	in := g.insp.Load()
	if in == nil || in.Engine == nil || env.Server == "" || env.Msg == nil {
		return nil
	}
	m := env.Msg
	if env.Out != nil && env.Dir == ServerToClient {
		// An earlier stage (policy redaction) changed the message: inspect what will be sent.
		if pm, err := jsonrpc.Parse(env.Out); err == nil {
			m = pm
		}
	}
	switch {
	case env.Dir == ClientToServer && m.Kind == jsonrpc.KindRequest && (env.Method == "tools/call" || env.Method == "prompts/get"):
		args, ok := jsonrpc.Member(env.Params, "arguments")
		if !ok {
			return nil
		}
		out, err := g.inspectJSON(ctx, in, env, args, inspect.Outbound, inspect.KindArgument, env.Method+" arguments")
		if err != nil {
			return err
		}
		if out != nil {
			env.Params = jsonrpc.SetMember(env.Params, "arguments", out)
		}
	case env.Dir == ClientToServer && m.Kind == jsonrpc.KindResponse && m.Result != nil:
		// A client's answer to sampling or elicitation goes to the upstream: what its model
		// wrote or its user typed must not carry secrets out. (Text, not arguments: no
		// destination checks on prose.)
		out, err := g.inspectJSON(ctx, in, env, m.Result, inspect.Outbound, inspect.KindResult, fmt.Sprintf("the client's answer to %s", env.Server))
		if err != nil {
			return err
		}
		if out != nil {
			env.Out = m.WithResult(out)
		}
	case env.Dir == ServerToClient && m.Kind == jsonrpc.KindRequest && len(m.Params) > 0 &&
		(m.Method == "sampling/createMessage" || m.Method == "elicitation/create"):
		// sampling/createMessage, elicitation/create: what an upstream asks the client (and
		// its model) to read.
		out, err := g.inspectJSON(ctx, in, env, m.Params, inspect.Inbound, inspect.KindResult, m.Method+" request")
		if err != nil {
			return err
		}
		if out != nil {
			env.Out = m.WithParams(out)
		}
	case env.Dir == ServerToClient && m.Kind == jsonrpc.KindNotification &&
		(m.Method == "notifications/message" || m.Method == "notifications/progress"):
		// Log and progress messages reach the client, which may show them to its user or
		// model: left uninspected they would be a way around the inspection of results.
		member := "data"
		if m.Method == "notifications/progress" {
			member = "message"
		}
		v, ok := jsonrpc.Member(m.Params, member)
		if !ok {
			return nil
		}
		where := fmt.Sprintf("a %s notification of %s", m.Method, env.Server)
		out, err := g.inspectJSON(ctx, in, env, v, inspect.Inbound, inspect.KindResult, where)
		if err != nil {
			// A notification has no answer to carry the refusal: it is withheld.
			g.recordWithheld(ctx, env, m.Method, err)
			return err
		}
		if out != nil {
			env.Out = m.WithParams(jsonrpc.SetMember(m.Params, member, out))
		}
	case env.Dir == ServerToClient && m.Error != nil && env.Req != nil:
		// An upstream's error message reaches the model as surely as a result does.
		out, err := g.inspectJSON(ctx, in, env, m.Error, inspect.Inbound, inspect.KindResult, fmt.Sprintf("the %s error of %s", env.Method, env.Server))
		if err != nil {
			return err
		}
		if out != nil {
			env.Out = m.WithError(out)
		}
	case env.Dir == ServerToClient && m.Result != nil:
		kind := inspect.KindResult
		switch env.Method {
		case "tools/call", "resources/read", "prompts/get", "completion/complete":
		case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
			kind = inspect.KindDescription
		default:
			return nil
		}
		where := fmt.Sprintf("%s of %s", env.Method, env.Server)
		if kind == inspect.KindDescription {
			out, err := g.inspectDefinitions(ctx, in, env, m.Result)
			if err != nil {
				return err
			}
			if out != nil {
				env.Out = m.WithResult(out)
			}
			return nil
		}
		if env.Name != "" {
			where = fmt.Sprintf("the %s result of %s%s%s", env.Method, env.Server, g.sep, env.Name)
		}
		out, err := g.inspectJSON(ctx, in, env, m.Result, inspect.Inbound, kind, where)
		if err != nil {
			return err
		}
		if out != nil {
			env.Out = m.WithResult(out)
		}
	}
	return nil
}

// skipKey says which members hold no text meant for a model: binary payloads, types,
// identifiers. (Names and URIs are still seen by egress checks in arguments.)
func skipKey(path []string, dir inspect.Direction) bool {
	if len(path) == 0 {
		return false
	}
	k := path[len(path)-1]
	if k == "[]" && len(path) > 1 {
		k = path[len(path)-2]
	}
	if dir == inspect.Outbound {
		return false
	}
	switch k {
	case "blob", "data", "mimeType", "type", "uri", "uriTemplate", "name", "nextCursor", "_meta", "id", "progressToken", "annotations":
		return true
	}
	for _, p := range path {
		if p == "_meta" {
			return true
		}
	}
	return false
}

// inspectJSON inspects every string of a JSON value and applies the actions. It returns the
// rewritten value (nil if unchanged), or an *Error when the message must be refused.
func (g *Gateway) inspectJSON(ctx context.Context, in *Inspection, env *Envelope, raw []byte, dir inspect.Direction, kind inspect.Kind, where string) ([]byte, error) {
	if in.MaxBytes > 0 && len(raw) > in.MaxBytes {
		return nil, g.inspectionRefusal(env, inspect.ActionBlock, nil, where,
			fmt.Sprintf("%s is %d bytes, more than inspection.max_bytes (%d): not passed uninspected", where, len(raw), in.MaxBytes))
	}
	var refuse inspect.Action
	var refused, all []inspect.Finding
	var secrets []string
	changed := false
	out, err := inspect.RewriteStrings(raw, func(path []string, s string) (string, bool) {
		if len(s) < 4 || skipKey(path, dir) {
			return "", false
		}
		k := kind
		if kind == inspect.KindDescription && !isDescriptionPath(path) {
			k = inspect.KindResult
		}
		rep := in.Engine.Inspect(ctx, s, k)
		if len(rep.Findings) == 0 {
			return "", false
		}
		d := in.Actions.Decide(rep, env.Server, dir, k)
		all = append(all, d.Findings...)
		for _, f := range d.Findings {
			if f.Type == inspect.TypeSecret && f.End <= len(s) {
				secrets = append(secrets, strings.Clone(s[f.Start:f.End])) // s is the message's memory
			}
		}
		switch d.Action {
		case inspect.ActionBlock, inspect.ActionApproval:
			if d.Action.Severity() > refuse.Severity() {
				refuse, refused = d.Action, d.Acted
			}
		case inspect.ActionQuarantine:
			changed = true
			return inspect.QuarantineNotice(d.Acted, where), true
		case inspect.ActionRedact:
			changed = true
			return inspect.Redact(s, d.Acted), true
		}
		return "", false
	})
	if err != nil {
		// Text the gateway cannot read is text it cannot vouch for.
		return nil, &Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s could not be inspected: not valid JSON", where), Cause: err}
	}
	g.noteFindings(env, all, secrets, kind != inspect.KindDescription)
	if refuse != "" {
		return nil, g.inspectionRefusal(env, refuse, refused, where, "")
	}
	if changed {
		return out, nil
	}
	return nil, nil
}

// inspectDefinitions inspects each definition of a list result on its own: one whose
// findings ask to quarantine, block or hold it is withheld from the list (a model never
// reads it, and a client cannot call what it is not offered); redaction rewrites it; a flag
// passes it. It returns the rewritten result, or nil if nothing changed.
func (g *Gateway) inspectDefinitions(ctx context.Context, in *Inspection, env *Envelope, result []byte) ([]byte, error) {
	key := map[string]string{"tools/list": "tools", "prompts/list": "prompts", "resources/list": "resources", "resources/templates/list": "resourceTemplates"}[env.Method]
	items, ok := jsonrpc.Member(result, key)
	if !ok {
		return nil, nil
	}
	var kept [][]byte
	changed := false
	var all []inspect.Finding
	err := jsonrpc.EachElement(items, func(it []byte) bool {
		name, _ := jsonrpc.StringMember(it, "name")
		where := fmt.Sprintf("the definition of %s%s%s", env.Server, g.sep, name)
		var worst inspect.Action
		var acted []inspect.Finding
		rewrote := false
		out, err := inspect.RewriteStrings(it, func(path []string, s string) (string, bool) {
			if len(s) < 4 || skipKey(path, inspect.Inbound) {
				return "", false
			}
			k := inspect.KindResult
			if isDescriptionPath(path) {
				k = inspect.KindDescription
			}
			rep := in.Engine.Inspect(ctx, s, k)
			if len(rep.Findings) == 0 {
				return "", false
			}
			d := in.Actions.Decide(rep, env.Server, inspect.Inbound, k)
			all = append(all, d.Findings...)
			if d.Action.Severity() > worst.Severity() {
				worst, acted = d.Action, d.Acted
			}
			if d.Action == inspect.ActionRedact {
				rewrote = true
				return inspect.Redact(s, d.Acted), true
			}
			return "", false
		})
		dk := definitionKey(env.Server, key, name)
		switch {
		case err != nil || worst.Severity() >= inspect.ActionQuarantine.Severity():
			changed = true
			why := inspect.Summary(acted)
			if err != nil {
				why = "not valid JSON"
			}
			env.Session.logger.Warn("definition withheld by inspection", "server", env.Server, "name", name, "action", string(worst), "findings", why, "where", where)
			g.poisoned.Store(dk, why)
			return true
		case rewrote:
			changed = true
		}
		g.poisoned.Delete(dk)
		kept = append(kept, out)
		return true
	})
	if err != nil {
		return nil, &Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s of %s could not be inspected: not valid JSON", env.Method, env.Server), Cause: err}
	}
	g.noteFindings(env, all, nil, false)
	if !changed {
		return nil, nil
	}
	arr := append([]byte{'['}, bytes.Join(kept, []byte{','})...)
	return jsonrpc.SetMember(result, key, append(arr, ']')), nil
}

// definitionKey names a definition for the withheld set: server, list key and name.
func definitionKey(server, listKey, name string) string {
	return server + "\x00" + listKey + "\x00" + name
}

// poisonedForCall refuses a call to a tool or prompt whose definition inspection withheld.
func (g *Gateway) poisonedForCall(srv *server, method, name string) error {
	listKey := "tools"
	if method == "prompts/get" {
		listKey = "prompts"
	}
	why, ok := g.poisoned.Load(definitionKey(srv.name, listKey, name))
	if !ok {
		return nil
	}
	return &Error{Code: CodeInspectionBlocked,
		Message: fmt.Sprintf("%q of server %q is withheld: inspection found in its definition: %s", name, srv.name, why),
		Data:    map[string]string{"server": srv.name, "name": name}}
}

// isDescriptionPath says whether a string in a list result is a description (or title)
// that a model reads as guidance.
func isDescriptionPath(path []string) bool {
	k := path[len(path)-1]
	return k == "description" || k == "title"
}

// noteFindings keeps what inspection found: on the envelope for the audit record (with the
// secrets' values, so that they are never written clear), and in the session's history for
// policy conditions.
//
// Findings in definitions (lists) stay out of the history: they say what an upstream
// offers, not what this session read.
func (g *Gateway) noteFindings(env *Envelope, fs []inspect.Finding, secrets []string, history bool) {
	if len(fs) == 0 {
		return
	}
	labels := inspect.Labels(fs)
	target := env
	if env.Req != nil {
		target = env.Req
		target.RespFindings = append(target.RespFindings, labels...)
	} else {
		target.Findings = append(target.Findings, labels...)
	}
	target.Secrets = append(target.Secrets, secrets...)
	s := env.Session
	s.logger.Warn("inspection findings", "method", env.Method, "server", env.Server, "name", env.Name, "findings", labels)
	if !history {
		return
	}
	s.mu.Lock()
	for _, l := range labels {
		typ, _, _ := strings.Cut(l, ":")
		s.history.Findings = addOnce(addOnce(s.history.Findings, typ), l)
	}
	s.mu.Unlock()
}

func addOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func (g *Gateway) inspectionRefusal(env *Envelope, act inspect.Action, fs []inspect.Finding, where, msg string) error {
	if msg == "" {
		verb := "blocked"
		if act == inspect.ActionApproval {
			verb = "held: approval is required before it can pass, and approvals are not available yet, so it was refused"
		}
		msg = fmt.Sprintf("%s %s by inspection: %s", where, verb, inspect.Summary(fs))
	}
	env.Session.logger.Warn("message refused by inspection", "method", env.Method, "server", env.Server, "name", env.Name, "action", string(act), "reason", msg)
	data := map[string]any{"action": string(act), "server": env.Server}
	if len(fs) > 0 {
		data["findings"] = inspect.Labels(fs)
	}
	return &Error{Code: CodeInspectionBlocked, Message: msg, Data: data}
}

// recordWithheld records a notification that inspection withheld as a security event, within
// the upstream's record rate; the next record counts those beyond it.
func (g *Gateway) recordWithheld(ctx context.Context, env *Envelope, method string, err error) {
	detail := map[string]any{"method": method, "server": env.Server, "reason": err.Error()}
	if ge, ok := err.(*Error); ok && ge.Data != nil {
		detail["inspection"] = ge.Data
	}
	if srv := g.byName[env.Server]; srv != nil {
		record, suppressed := srv.withheld.allow()
		if !record {
			return
		}
		if suppressed > 0 {
			detail["not_recorded_before"] = suppressed
			env.Session.logger.Warn("withheld notifications beyond the record rate were not audited", "server", env.Server, "count", suppressed)
		}
	}
	g.SecurityEvent(ctx, "notification_withheld", env.Session.identity, detail)
}

// The security records of withheld notifications, per upstream: a burst, then one a second.
// An upstream that floods the gateway with notifications to withhold cannot fill the audit
// trail (or hold the audit store's writes) at its own pace; every withheld notification is
// still logged, and the next record counts those that were not recorded.
const (
	withheldBurst = 20
	withheldRate  = rate.Limit(1)
)

type withheldRecords struct {
	lim        *rate.Limiter
	suppressed atomic.Int64
}

// allow reports whether this withheld notification gets a record, and how many before it
// did not.
func (w *withheldRecords) allow() (record bool, suppressed int64) {
	if !w.lim.Allow() {
		w.suppressed.Add(1)
		return false, 0
	}
	return true, w.suppressed.Swap(0)
}
