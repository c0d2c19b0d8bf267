package inspect

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Action is what the gateway does about a finding.
type Action string

// The actions, from the least to the most severe; when several findings in one message ask
// for different actions, the most severe wins.
const (
	ActionOff        Action = "off"        // the finding is dropped
	ActionFlag       Action = "flag"       // passes; recorded and shown to policy as session history
	ActionRedact     Action = "redact"     // the finding's text is replaced by [REDACTED:<rule>]
	ActionQuarantine Action = "quarantine" // the whole text is replaced by a notice
	ActionApproval   Action = "require_approval"
	ActionBlock      Action = "block" // the message is refused with an error naming the finding
)

// Severity orders actions.
func (a Action) Severity() int {
	switch a {
	case ActionFlag:
		return 1
	case ActionRedact:
		return 2
	case ActionQuarantine:
		return 3
	case ActionApproval:
		return 4
	case ActionBlock:
		return 5
	}
	return 0
}

// ParseAction maps a configuration name.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionOff, ActionFlag, ActionRedact, ActionQuarantine, ActionApproval, ActionBlock:
		return a, true
	}
	return "", false
}

// Direction is which way a text travels.
type Direction string

const (
	// Inbound: from an upstream towards the client (results, resources, prompts,
	// definitions, sampling and elicitation requests).
	Inbound Direction = "inbound"
	// Outbound: towards an upstream (arguments, answers to sampling and elicitation).
	Outbound Direction = "outbound"
)

// ActionRule chooses an action; empty fields match anything; Server is a glob.
type ActionRule struct {
	Type      string
	Rule      string
	Server    string
	Direction Direction
	Kind      string // result, description, argument
	Action    Action
}

func (r *ActionRule) matches(f Finding, server string, dir Direction, kind Kind) bool {
	if r.Type != "" && r.Type != f.Type {
		return false
	}
	if r.Rule != "" && r.Rule != f.Rule {
		return false
	}
	if r.Direction != "" && r.Direction != dir {
		return false
	}
	if r.Kind != "" && r.Kind != kind.String() {
		return false
	}
	if r.Server != "" && r.Server != "*" {
		if ok, _ := path.Match(r.Server, server); !ok {
			return false
		}
	}
	return true
}

// Actions is an ordered rule list: the first rule that matches a finding decides.
type Actions []ActionRule

// DefaultActions are what a gateway does without configuration: refuse secrets leaving and
// destinations outside the rules, withhold injected content, strip hidden text and secrets
// coming back, record personal data.
func DefaultActions() Actions {
	return Actions{
		{Type: TypeSecret, Direction: Outbound, Action: ActionBlock},
		{Type: TypeSecret, Action: ActionRedact},
		{Type: TypeEgress, Action: ActionBlock},
		{Type: TypeInjection, Kind: "argument", Action: ActionFlag},
		{Type: TypeInjection, Action: ActionQuarantine},
		{Type: TypeHidden, Action: ActionRedact},
		{Type: TypePII, Action: ActionFlag},
	}
}

// For returns the action for f. A finding no rule names is flagged.
func (a Actions) For(f Finding, server string, dir Direction, kind Kind) Action {
	for i := range a {
		if a[i].matches(f, server, dir, kind) {
			return a[i].Action
		}
	}
	return ActionFlag
}

// Decision is what happens to one text.
type Decision struct {
	Action   Action    // the most severe action any finding asked for (ActionOff: none)
	Findings []Finding // those not switched off
	Acted    []Finding // those whose action is Action
}

// Decide applies the rules to a report's findings.
func (a Actions) Decide(rep Report, server string, dir Direction, kind Kind) Decision {
	var d Decision
	d.Action = ActionOff
	for _, f := range rep.Findings {
		act := a.For(f, server, dir, kind)
		if act == ActionOff {
			continue
		}
		d.Findings = append(d.Findings, f)
		switch {
		case act.Severity() > d.Action.Severity():
			d.Action, d.Acted = act, []Finding{f}
		case act == d.Action:
			d.Acted = append(d.Acted, f)
		}
	}
	return d
}

// Redact replaces each finding's span of text by [REDACTED:<rule>]; overlapping spans are
// merged under the first one's rule. Hidden text is removed without a marker.
func Redact(text string, fs []Finding) string {
	if len(fs) == 0 {
		return text
	}
	sorted := append([]Finding(nil), fs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	var b strings.Builder
	at := 0
	for i := 0; i < len(sorted); i++ {
		f := sorted[i]
		s, e := max(f.Start, at), f.End
		for i+1 < len(sorted) && sorted[i+1].Start < e {
			i++
			e = max(e, sorted[i].End)
		}
		if s >= e || e > len(text) {
			continue
		}
		b.WriteString(text[at:s])
		if f.Type != TypeHidden {
			b.WriteString("[REDACTED:" + f.Rule + "]")
		}
		at = e
	}
	b.WriteString(text[at:])
	return b.String()
}

// QuarantineNotice is the text that stands in for withheld content.
func QuarantineNotice(fs []Finding, where string) string {
	return fmt.Sprintf("[gatehouse: content withheld from %s: %s. It was not shown to the model; an administrator can find it in the audit trail.]", where, Summary(fs))
}

// Summary names the findings briefly: "injection (instruction-override, hidden-block)".
func Summary(fs []Finding) string {
	byType := map[string][]string{}
	var types []string
	for _, f := range fs {
		if _, ok := byType[f.Type]; !ok {
			types = append(types, f.Type)
		}
		rules := byType[f.Type]
		dup := false
		for _, r := range rules {
			dup = dup || r == f.Rule
		}
		if !dup {
			byType[f.Type] = append(rules, f.Rule)
		}
	}
	parts := make([]string, 0, len(types))
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s (%s)", t, strings.Join(byType[t], ", ")))
	}
	return strings.Join(parts, "; ")
}

// Labels are the findings as "type:rule" strings, each once, for audit records and policy
// history.
func Labels(fs []Finding) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		l := f.Type + ":" + f.Rule
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
