package policy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
)

// Kind is what a request targets.
type Kind string

// Kinds.
const (
	KindTool     Kind = "tool"
	KindPrompt   Kind = "prompt"
	KindResource Kind = "resource"
)

// Rule names the gateway itself uses in decisions.
const (
	RuleDefaultDeny = "default-deny"
	RuleTenant      = "tenant-isolation"
	RuleNoPolicy    = "no-policy"
)

// History is what a session did so far, as conditions see it.
// A session's history only grows: a Memo relies on that.
type History struct {
	Tools    []string // "server/tool", in call order, each once
	Tags     []string // tags of those tools, each once
	Findings []string // inspection finding types, each once
}

// Request is one decision to make.
type Request struct {
	Identity    *identity.Identity
	Server      string
	Kind        Kind
	Name        string         // the upstream's own tool or prompt name, or the resource URI
	Arguments   []byte         // raw JSON object, or nil
	Annotations map[string]any // the tool's annotations as the server declared them, or nil
	History     History
	Now         time.Time
	// Memo, if set, keeps the values of static conditions between decisions of one session
	// (whose identity does not change).
	Memo *Memo
}

// Decision is the outcome.
type Decision struct {
	Allow  bool
	Effect string // allow, deny or require_approval
	Rule   string // the rule that decided: a configured rule's name, or a Rule* constant
	Reason string
	// Redact lists the JSON paths to redact when allowed (from redact rules).
	RedactArguments, RedactResult []string
	// Matched are the names of every rule that matched, for the audit record.
	Matched []string
}

type grant struct {
	servers, tools, prompts, resources patterns
}

type rule struct {
	config.Rule
	servers, tools, prompts, resources patterns
	anyKind                            bool // names no kind: applies to all
	condition                               // compiled When; prog is nil without one
}

// Policy is a compiled policy. It is immutable and safe for concurrent use.
type Policy struct {
	present bool
	roles   map[string][]grant
	rules   []*rule
	tags    map[string]patterns // tag → "server/tool" patterns
	tenants map[string]string   // server → owning tenant ("" shared)
	// unknowns are the variables a condition's value may not depend on to be kept in a Memo.
	unknowns []*cel.AttributePatternType

	// targets caches, per server, kind and name, which rules and roles apply: that part of
	// a decision depends on nothing else, so hundreds of patterns are matched once per name
	// rather than once per call. Bounded, as names come from clients.
	targets  sync.Map // targetKey → *target
	nTargets atomic.Int64
}

type targetKey struct {
	server string
	kind   Kind
	name   string
}

// target is what applies to one server/kind/name.
type target struct {
	rules     []*rule           // in policy order
	grantedBy map[string]string // roles with a grant that covers it, to their rule name "role:<name>"
	histKey   string            // "server/tool", as History records it (tools only)
	tags      []string          // the tool's tags, sorted (tools only)
}

// maxTargets bounds the cache; beyond it, targets are computed per call.
const maxTargets = 1 << 16

func (p *Policy) target(server string, kind Kind, name string) *target {
	k := targetKey{server, kind, name}
	if t, ok := p.targets.Load(k); ok {
		return t.(*target)
	}
	t := &target{grantedBy: map[string]string{}}
	if kind == KindTool {
		t.histKey, t.tags = server+"/"+name, p.Tags(server, name)
	}
	for _, r := range p.rules {
		if r.targets(server, kind, name) {
			t.rules = append(t.rules, r)
		}
	}
	for role, grants := range p.roles {
		for _, g := range grants {
			if g.grants(server, kind, name) {
				t.grantedBy[role] = "role:" + role
				break
			}
		}
	}
	if p.nTargets.Load() < maxTargets {
		if _, loaded := p.targets.LoadOrStore(k, t); !loaded {
			p.nTargets.Add(1)
		}
	}
	return t
}

// Compile builds a policy from the configuration (nil: no policy, everything denied).
// tenants maps each upstream to its owning tenant. Errors name the rule.
func Compile(cfg *config.Policy, tenants map[string]string) (*Policy, error) {
	p := &Policy{present: cfg != nil, roles: map[string][]grant{}, tags: map[string]patterns{}, tenants: tenants,
		unknowns: []*cel.AttributePatternType{cel.AttributePattern("args"), cel.AttributePattern("now")}}
	if cfg == nil {
		return p, nil
	}
	for name, grants := range cfg.Roles {
		for _, g := range grants {
			servers := g.Servers
			if servers == nil {
				servers = []string{"*"}
			}
			p.roles[name] = append(p.roles[name], grant{compilePatterns(servers), compilePatterns(g.Tools), compilePatterns(g.Prompts), compilePatterns(g.Resources)})
		}
	}
	for tag, pats := range cfg.Tags {
		p.tags[tag] = compilePatterns(pats)
	}
	checker, err := NewChecker()
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range cfg.Rules {
		cr := cfg.Rules[i]
		servers := cr.Servers
		if servers == nil {
			servers = []string{"*"}
		}
		r := &rule{Rule: cr, servers: compilePatterns(servers), tools: compilePatterns(cr.Tools),
			prompts: compilePatterns(cr.Prompts), resources: compilePatterns(cr.Resources)}
		r.anyKind = cr.Tools == nil && cr.Prompts == nil && cr.Resources == nil
		if cr.When != "" {
			if r.condition, err = checker.compile(cr.When); err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", cr.Name, err))
				continue
			}
		}
		p.rules = append(p.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func (r *rule) targets(server string, kind Kind, name string) bool {
	if !r.servers.match(server) {
		return false
	}
	if r.anyKind {
		return true
	}
	switch kind {
	case KindTool:
		return r.tools.match(name)
	case KindPrompt:
		return r.prompts.match(name)
	case KindResource:
		return r.resources.match(name)
	}
	return false
}

func (g grant) grants(server string, kind Kind, name string) bool {
	if !g.servers.match(server) {
		return false
	}
	switch kind {
	case KindTool:
		return g.tools.match(name)
	case KindPrompt:
		return g.prompts.match(name)
	case KindResource:
		return g.resources.match(name)
	}
	return false
}

// Tags returns the tags of server/tool, sorted.
func (p *Policy) Tags(server, tool string) []string {
	key := server + "/" + tool
	var out []string
	for tag, pats := range p.tags {
		if pats.match(key) {
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	return out
}

// ServerVisible reports whether id may see server at all (tenant isolation).
func (p *Policy) ServerVisible(id *identity.Identity, server string) bool {
	t := p.tenants[server]
	return t == "" || (id != nil && id.Tenant == t)
}

// Visible reports whether a list should show id the named item: the tenant owns or shares
// the server, some role or unconditional allow rule grants it, and no unconditional deny or
// approval rule refuses it. Conditional rules decide at call time.
func (p *Policy) Visible(id *identity.Identity, server string, kind Kind, name string) bool {
	if !p.present || !p.ServerVisible(id, server) {
		return false
	}
	t := p.target(server, kind, name)
	granted := t.roleGrants(id) != ""
	for _, r := range t.rules {
		if r.prog != nil {
			continue
		}
		switch r.Effect {
		case config.EffectDeny, config.EffectRequireApproval:
			return false
		case config.EffectAllow:
			granted = true
		}
	}
	return granted
}

// roleGrants returns "role:<name>" of the first of id's roles that grants the target, or "".
func (t *target) roleGrants(id *identity.Identity) string {
	if id == nil {
		return ""
	}
	for _, role := range id.Roles {
		if rule, ok := t.grantedBy[role]; ok {
			return rule
		}
	}
	return ""
}

// Decide makes the decision for req. It fails closed: a condition that cannot be evaluated
// counts as matching for deny, approval and redact rules, and as not matching for allow.
func (p *Policy) Decide(req *Request) Decision {
	if !p.present {
		return Decision{Effect: config.EffectDeny, Rule: RuleNoPolicy, Reason: "no policy is configured, so everything is denied"}
	}
	if !p.ServerVisible(req.Identity, req.Server) {
		return Decision{Effect: config.EffectDeny, Rule: RuleTenant, Reason: fmt.Sprintf("server %q belongs to another tenant", req.Server)}
	}
	var (
		matched  []string
		deny     *Decision
		t        = p.target(req.Server, req.Kind, req.Name)
		grantBy  = t.roleGrants(req.Identity)
		redactIn []string
		redactOt []string
		conds    = conditions{p: p, req: req, t: t}
	)
	for i, r := range t.rules {
		hit, evalErr := true, error(nil)
		if r.prog != nil {
			hit, evalErr = conds.value(i, r)
		}
		if !hit {
			continue
		}
		matched = append(matched, r.Name)
		switch r.Effect {
		case config.EffectDeny, config.EffectRequireApproval:
			if deny == nil {
				reason := r.Reason
				if reason == "" {
					reason = "denied"
				}
				if r.Effect == config.EffectRequireApproval {
					reason = "requires approval, and approvals are not available yet: " + reason
				}
				if evalErr != nil {
					reason += fmt.Sprintf(" (condition could not be evaluated: %v)", evalErr)
				}
				deny = &Decision{Effect: r.Effect, Rule: r.Name, Reason: reason}
			}
		case config.EffectAllow:
			if grantBy == "" {
				grantBy = r.Name
			}
		case config.EffectRedact:
			redactIn = append(redactIn, r.Redact.Arguments...)
			redactOt = append(redactOt, r.Redact.Result...)
		}
	}
	if deny != nil {
		deny.Matched = matched
		return *deny
	}
	if grantBy == "" {
		who := "anonymous"
		if req.Identity != nil {
			who = req.Identity.Subject
		}
		return Decision{Effect: config.EffectDeny, Rule: RuleDefaultDeny, Matched: matched,
			Reason: fmt.Sprintf("no role of %q grants %s %q on server %q", who, req.Kind, req.Name, req.Server)}
	}
	return Decision{Allow: true, Effect: config.EffectAllow, Rule: grantBy, Matched: matched,
		RedactArguments: redactIn, RedactResult: redactOt}
}

// conditions evaluates the conditions of one decision's rules. The variables are built, and
// the session's memo for the target looked up, only when a condition needs them.
type conditions struct {
	p    *Policy
	req  *Request
	t    *target
	act  *activation
	memo *targetMemo
}

func (c *conditions) activation() *activation {
	if c.act == nil {
		c.act = c.p.activation(c.req)
	}
	return c.act
}

// value is the value of rule i's condition: what the session's memo holds for it, or else
// evaluated (and kept where the memo may keep it). A condition that cannot be evaluated fails
// closed: it counts as matching for deny, approval and redact rules, not for allow.
func (c *conditions) value(i int, r *rule) (hit bool, err error) {
	req := c.req
	var key []byte
	if req.Memo != nil {
		if c.memo == nil {
			c.memo = req.Memo.target(c.p, req, c.t)
		}
		hit, known, tried, err := c.memo.get(i, req.History)
		if !known && !tried && r.partial != nil {
			// Once per session and target: does the condition hold or fail whatever the
			// arguments and the time?
			hit, known = c.activation().evalPartial(r.partial, c.p.unknowns)
			c.memo.setPartial(i, r.readsSession, req.History, hit, known)
		}
		if known {
			return hit, err
		}
		if r.byArgs {
			var buf [128]byte
			key = appendArgsKey(buf[:0], req.Arguments, r.argsMembers)
			if hit, err, ok := c.memo.getArgs(i, req.History, key); ok {
				return hit, err
			}
		}
	}
	hit, err = c.activation().eval(r.prog)
	if err != nil {
		hit = r.Effect != config.EffectAllow // fail closed
	}
	switch {
	case r.memo != memoNever && c.memo != nil:
		c.memo.set(i, r.memo, req.History, hit, err)
	case key != nil:
		c.memo.setArgs(i, r.readsSession, req.History, key, hit, err)
	}
	return hit, err
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *activation) eval(prog cel.Program) (bool, error) {
	out, _, err := prog.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %v, not a bool", out.Value())
	}
	return b, nil
}

// AddToHistory records a call in h: the tool and its tags, each once.
func (p *Policy) AddToHistory(h *History, server, tool string) {
	t := p.target(server, KindTool, tool)
	if !slices.Contains(h.Tools, t.histKey) {
		h.Tools = append(h.Tools, t.histKey)
	}
	for _, tag := range t.tags {
		if !slices.Contains(h.Tags, tag) {
			h.Tags = append(h.Tags, tag)
		}
	}
}

// Describe is a one-line summary for logs.
func (d Decision) Describe() string {
	var b strings.Builder
	b.WriteString(d.Effect)
	b.WriteString(" by ")
	b.WriteString(d.Rule)
	if d.Reason != "" {
		b.WriteString(": ")
		b.WriteString(d.Reason)
	}
	return b.String()
}
