package config

import (
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Inspection configures content inspection: what the detectors look for, and what the
// gateway does about each finding.
type Inspection struct {
	// Enabled turns inspection on (the default).
	Enabled bool
	// Threshold overrides the injection model's operating point, in (0, 1); 0 keeps the one
	// shipped with the weights.
	Threshold float64
	// Secrets: the gitleaks rule set, plus high-entropy strings in assignments (Entropy).
	Secrets        bool
	SecretsEntropy bool
	SecretsDisable []string
	// PII types to detect (default all: email, phone, payment-card, iban, us-ssn).
	PII []string
	// Hidden reports invisible characters, escape sequences and encoded runs that hide
	// text (default on).
	Hidden bool
	// Egress checks destinations in arguments: Allow is the allowlist (empty: any public
	// destination); BlockPrivate refuses internal addresses (default on); Resolve also
	// resolves host names and checks every address.
	EgressAllow        []string
	EgressBlockPrivate bool
	EgressResolve      bool
	// MaxBytes bounds the text of one message that is inspected; a larger message is
	// refused (a security gateway does not pass what it could not look at).
	MaxBytes Size
	// Actions are rules, first match wins, after which the built-in defaults apply.
	Actions []InspectionAction
}

// InspectionAction picks the action for findings; empty fields match anything.
type InspectionAction struct {
	Type      string // injection, secret, pii, hidden-text, egress
	Rule      string // a detector's rule id (e.g. aws-access-token, email)
	Server    string // glob over upstream names
	Direction string // inbound (towards the client) or outbound (towards an upstream)
	Kind      string // result, description, argument
	Action    string // block, redact, quarantine, flag, require_approval, off
}

// Names a configuration may use (the inspect package defines them; config only checks).
func inspectionTypes() []string {
	return []string{"injection", "secret", "pii", "hidden-text", "egress"}
}
func inspectionActions() []string {
	return []string{"block", "redact", "quarantine", "flag", "require_approval", "off"}
}
func inspectionDirections() []string { return []string{"inbound", "outbound"} }
func inspectionKinds() []string      { return []string{"result", "description", "argument"} }
func piiTypes() []string             { return []string{"email", "phone", "payment-card", "iban", "us-ssn"} }

func inspectionKeys() []string {
	return []string{"enabled", "threshold", "secrets", "pii", "hidden_text", "egress", "max_bytes", "actions"}
}

func defaultInspection() Inspection {
	return Inspection{Enabled: true, Secrets: true, SecretsEntropy: true, PII: piiTypes(),
		Hidden: true, EgressBlockPrivate: true, MaxBytes: 4 << 20}
}

func (d *decoder) inspection(n *yaml.Node, path string, in *Inspection) {
	f := d.fields(n, path, inspectionKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["enabled"]; ok {
		in.Enabled, _ = d.boolean(e.val, join(path, "enabled"))
	}
	if e, ok := f["threshold"]; ok && !(deref(e.val) != nil && deref(e.val).Value == "0") {
		p := join(path, "threshold")
		if v, ok := d.scalar(e.val, p, "a number between 0 and 1"); ok {
			x, err := strconv.ParseFloat(v.Value, 64)
			if err != nil || x <= 0 || x >= 1 {
				d.add(e.val, p, "must be a number between 0 and 1 (exclusive), not %q", v.Value)
			} else {
				in.Threshold = x
			}
		}
	}
	if e, ok := f["secrets"]; ok {
		p := join(path, "secrets")
		if s := d.fields(e.val, p, "enabled", "entropy", "disable"); s != nil {
			if v, ok := s["enabled"]; ok {
				in.Secrets, _ = d.boolean(v.val, join(p, "enabled"))
			}
			if v, ok := s["entropy"]; ok {
				in.SecretsEntropy, _ = d.boolean(v.val, join(p, "entropy"))
			}
			if v, ok := s["disable"]; ok {
				list, good := d.strList(v.val, join(p, "disable"))
				in.SecretsDisable = list
				if good && d.checks.SecretRule != nil {
					for i, id := range list {
						if err := d.checks.SecretRule(id); err != nil {
							d.add(deref(v.val).Content[i], index(join(p, "disable"), i), "%v", err)
						}
					}
				}
			}
		}
	}
	if e, ok := f["pii"]; ok {
		p := join(path, "pii")
		if s := d.fields(e.val, p, "types"); s != nil {
			if v, ok := s["types"]; ok {
				if list, ok := d.strList(v.val, join(p, "types")); ok {
					in.PII = list
					d.choices(v.val, join(p, "types"), list, piiTypes())
				}
			}
		}
	}
	if e, ok := f["hidden_text"]; ok {
		in.Hidden, _ = d.boolean(e.val, join(path, "hidden_text"))
	}
	if e, ok := f["egress"]; ok {
		p := join(path, "egress")
		if s := d.fields(e.val, p, "allow", "block_private", "resolve"); s != nil {
			if v, ok := s["allow"]; ok {
				if list, ok := d.strList(v.val, join(p, "allow")); ok {
					items := deref(v.val).Content
					for i, pat := range list {
						if msg := checkEgressPattern(pat); msg != "" {
							d.add(items[i], index(join(p, "allow"), i), "%q: %s", pat, msg)
						}
					}
					in.EgressAllow = list
				}
			}
			if v, ok := s["block_private"]; ok {
				in.EgressBlockPrivate, _ = d.boolean(v.val, join(p, "block_private"))
			}
			if v, ok := s["resolve"]; ok {
				in.EgressResolve, _ = d.boolean(v.val, join(p, "resolve"))
			}
		}
	}
	if e, ok := f["max_bytes"]; ok {
		if v, ok := d.size(e.val, join(path, "max_bytes")); ok && d.positive(e.val, join(path, "max_bytes"), int64(v)) {
			in.MaxBytes = v
		}
	}
	if e, ok := f["actions"]; ok {
		p := join(path, "actions")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.SequenceNode {
			d.add(e.val, p, "must be a list of rules ({type, rule, server, direction, kind, action}), not %s", describe(e.val))
			return
		}
		for i, item := range v.Content {
			ip := index(p, i)
			s := d.fields(item, ip, "type", "rule", "server", "direction", "kind", "action")
			if s == nil {
				continue
			}
			var a InspectionAction
			pick := func(key string, dst *string, choices []string) {
				if v, ok := s[key]; ok {
					if choices == nil {
						*dst, _ = d.str(v.val, join(ip, key))
					} else {
						*dst, _ = d.oneOf(v.val, join(ip, key), choices...)
					}
				}
			}
			pick("type", &a.Type, inspectionTypes())
			pick("rule", &a.Rule, nil)
			pick("server", &a.Server, nil)
			pick("direction", &a.Direction, inspectionDirections())
			pick("kind", &a.Kind, inspectionKinds())
			pick("action", &a.Action, inspectionActions())
			if _, ok := s["action"]; !ok {
				d.add(item, join(ip, "action"), "required (one of %s)", strings.Join(inspectionActions(), ", "))
			}
			in.Actions = append(in.Actions, a)
		}
	}
}

// choices reports every item of list that is not one of valid.
func (d *decoder) choices(n *yaml.Node, path string, list, valid []string) {
	for i, s := range list {
		ok := false
		for _, v := range valid {
			ok = ok || s == v
		}
		if !ok {
			d.add(n, index(path, i), "%q is not one of %s", s, strings.Join(valid, ", "))
		}
	}
}

// checkEgressPattern explains what is wrong with an allowlist pattern ("" if nothing).
func checkEgressPattern(p string) string {
	switch {
	case p == "":
		return "empty pattern"
	case strings.Contains(p, "://"):
		return "a host pattern, not a URL (e.g. api.example.com or *.example.com)"
	case strings.Contains(p, "/"):
		if _, err := netip.ParsePrefix(p); err != nil {
			return "not a CIDR prefix: " + err.Error()
		}
	case strings.Count(p, "*") > 1 || strings.Contains(p, "*") && !strings.HasPrefix(p, "*."):
		return "wildcards only as a leading *. (e.g. *.example.com)"
	}
	return ""
}

// DefaultInspection is the inspection configuration a file that says nothing gets.
func DefaultInspection() Inspection { return defaultInspection() }
