package policy

import (
	"testing"
	"time"

	"gatehouse/internal/bench"
	"gatehouse/internal/config"
	"gatehouse/internal/identity"
)

// BenchmarkDecide is one decision under the load tool's policy: 50 roles, 500 rules, ten
// of them with CEL conditions evaluated on every call.
func BenchmarkDecide(b *testing.B) {
	cfg, err := config.ParseWith([]byte(bench.PolicyYAML("http://127.0.0.1:1/mcp", "https://issuer.example", 50, 500)+"upstreams: [{name: up, command: x}]\n"),
		"bench.yaml", config.Checks{Expr: func(s string) error { c, _ := NewChecker(); return c.Check(s) }})
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(cfg.Policy, map[string]string{"up": ""})
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{
		Identity:  &identity.Identity{Subject: "bench", Roles: []string{"role-7", "bench"}, Method: identity.MethodJWT},
		Server:    "up",
		Kind:      KindTool,
		Name:      "echo",
		Arguments: []byte(`{"text":"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}`),
		Now:       time.Now(),
	}
	if d := p.Decide(req); !d.Allow {
		b.Fatalf("bench request denied: %s", d.Describe())
	}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Decide(req)
		}
	})
	// As the gateway decides: the session's memo keeps the static conditions.
	b.Run("session", func(b *testing.B) {
		req := *req
		req.Memo = &Memo{}
		b.ReportAllocs()
		for b.Loop() {
			p.Decide(&req)
		}
	})
}
