package bench

import (
	"fmt"
	"strings"
)

// PolicyYAML is the benchmark's identity and policy load: JWT authentication against
// issuer, and a policy of roles roles and rules rules. The bench identity holds two roles;
// one grants echo and blob through a pattern. Most rules target other tools (so their
// patterns are checked and rejected on every call); a few target every tool with a CEL
// condition that is evaluated on every call and is false.
func PolicyYAML(resource, issuer string, roles, rules int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "auth:\n  resource: %q\n  required_scopes: [mcp]\n  jwt:\n    issuer: %q\n    claims: {roles: groups}\n", resource, issuer)
	b.WriteString("policy:\n  tags:\n    sensitive: [\"up/secret_*\"]\n  roles:\n")
	for i := range roles {
		fmt.Fprintf(&b, "    role-%d:\n      - servers: [up, other-%d]\n        tools: [\"tool-%d-*\", \"admin-%d\"]\n        prompts: [\"p-%d\"]\n", i, i, i, i, i)
	}
	b.WriteString("    bench:\n      - servers: [up]\n        tools: [\"echo\", \"bl*\"]\n")
	b.WriteString("  rules:\n")
	conditional := rules / 50 // 10 of 500
	for i := range rules {
		if i < conditional {
			conds := []string{
				`"sensitive" in session.tags && kind == "tool"`,
				`has(args.size) && args.size > 1000000`,
				`identity.tenant == "tenant-x" && now.getHours() > 25`,
				`has(tool.annotations.destructiveHint) && tool.annotations.destructiveHint`,
				`"role-3" in identity.roles && name.startsWith("zz")`,
			}
			fmt.Fprintf(&b, "    - name: cond-%d\n      effect: deny\n      reason: bench condition %d\n      tools: [\"*\"]\n      when: '%s'\n", i, i, conds[i%len(conds)])
			continue
		}
		effect := []string{"deny", "require_approval", "redact"}[i%3]
		fmt.Fprintf(&b, "    - name: rule-%d\n      effect: %s\n      reason: bench rule %d\n      servers: [\"up\", \"other-*\"]\n      tools: [\"t%d_*\", \"*_%d\"]\n", i, effect, i, i, i)
		if effect == "redact" {
			fmt.Fprintf(&b, "      redact: {arguments: [secret_%d]}\n", i)
		}
	}
	return b.String()
}
