package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/policy"
)

func policyFrom(t *testing.T, yaml string, tenants map[string]string) *policy.Policy {
	t.Helper()
	cfg, err := config.Parse([]byte("upstreams: [{name: a, command: x}]\n"+yaml), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile(cfg.Policy, tenants)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const gatewayTestPolicy = `
policy:
  tags:
    sensitive: ["a/echo"]
  roles:
    dev:
      - servers: [a]
        tools: [echo, z]
    crm:
      - servers: [b]
        tools: ["*"]
  rules:
    - name: no-z-after-sensitive
      effect: deny
      reason: z may not follow a sensitive read
      tools: [z]
      when: '"sensitive" in session.tags'
    - name: hide-secrets
      effect: redact
      tools: [echo]
      redact: {arguments: [secret], result: ["content.*.text"]}
`

func initAs(t *testing.T, g *Gateway, id *identity.Identity) *Session {
	t.Helper()
	s := g.NewSession("test", id)
	t.Cleanup(s.Close)
	mustOK(t, request(t, s, nil, `"init"`, "initialize", clientInitParams))
	s.Handle(testCtx(t), parse(t, jsonrpc.Notification("notifications/initialized", nil)), nil)
	return s
}

func TestPolicyInTheGateway(t *testing.T) {
	a := newFake("a", "x", "echo", "z")
	b := newFake("b", "y")
	pol := policyFrom(t, gatewayTestPolicy, map[string]string{"a": "", "b": "acme"})
	g := newGateway(t, []UpstreamSpec{perSession(a), perSession(b)}, func(o *Options) { o.Policy = pol })
	dev := &identity.Identity{Subject: "dana", Roles: []string{"dev", "crm"}} // crm, but not of tenant acme
	s := initAs(t, g, dev)

	// Lists show only what the identity may use; b (tenant acme) is not even asked.
	got := names(t, mustResult(t, request(t, s, nil, "1", "tools/list", "{}")), "tools")
	if !slices.Equal(got, []string{"a__echo", "a__z"}) {
		t.Fatalf("tools/list = %v, want [a__echo a__z]", got)
	}
	if n := b.dials.Load(); n != 0 {
		t.Errorf("another tenant's server was dialled %d times", n)
	}

	// Calls: refused with the policy's own error code, naming the rule.
	for _, tt := range []struct{ tool, rule string }{{"a__x", policy.RuleDefaultDeny}, {"b__y", policy.RuleTenant}} {
		r := request(t, s, nil, `"`+tt.tool+`"`, "tools/call", `{"name":"`+tt.tool+`","arguments":{}}`)
		code, msg := errCode(t, r)
		if code != CodePolicyDenied || !strings.Contains(msg, tt.rule) || !strings.Contains(msg, "denied by policy") {
			t.Errorf("%s: code %d %q, want %d naming %s", tt.tool, code, msg, CodePolicyDenied, tt.rule)
		}
	}

	// History: z is allowed until a sensitive tool was called in the session.
	mustOK(t, request(t, s, nil, "2", "tools/call", `{"name":"a__z","arguments":{}}`))
	r := request(t, s, nil, "3", "tools/call", `{"name":"a__echo","arguments":{"secret":"s3cr3t","keep":"k"}}`)
	mustOK(t, r)
	// Redaction: the upstream never saw the secret, and the client gets no text back.
	sent := a.lastConn(t).waitFor(t, "echo call", isCall("echo"))
	if strings.Contains(string(sent.Raw), "s3cr3t") || !strings.Contains(string(sent.Raw), policy.Redacted) || !strings.Contains(string(sent.Raw), `"keep":"k"`) {
		t.Errorf("upstream received %s", sent.Raw)
	}
	var res struct {
		Content []struct{ Text string } `json:"content"`
	}
	json.Unmarshal(r.Result, &res)
	if len(res.Content) != 1 || res.Content[0].Text != policy.Redacted {
		t.Errorf("result not redacted: %s", r.Result)
	}
	r = request(t, s, nil, "4", "tools/call", `{"name":"a__z","arguments":{}}`)
	if code, msg := errCode(t, r); code != CodePolicyDenied || !strings.Contains(msg, "no-z-after-sensitive") {
		t.Errorf("z after a sensitive call: %d %q", code, msg)
	}

	// Another session starts with a clean history.
	s2 := initAs(t, g, dev)
	mustOK(t, request(t, s2, nil, "1", "tools/call", `{"name":"a__z","arguments":{}}`))

	// A tenant member sees and reaches the tenant's server.
	acme := initAs(t, g, &identity.Identity{Subject: "carl", Tenant: "acme", Roles: []string{"crm"}})
	if got := names(t, mustResult(t, request(t, acme, nil, "1", "tools/list", "{}")), "tools"); !slices.Equal(got, []string{"b__y"}) {
		t.Fatalf("tenant member's tools/list = %v", got)
	}
	mustOK(t, request(t, acme, nil, "2", "tools/call", `{"name":"b__y","arguments":{}}`))

	// Without roles nothing is listed or callable.
	none := initAs(t, g, &identity.Identity{Subject: "nobody"})
	if got := names(t, mustResult(t, request(t, none, nil, "1", "tools/list", "{}")), "tools"); len(got) != 0 {
		t.Fatalf("identity without roles sees %v", got)
	}
}

func TestPolicyReloadTakesEffect(t *testing.T) {
	a := newFake("a", "echo", "x")
	g := newGateway(t, []UpstreamSpec{perSession(a)}, func(o *Options) { o.Policy = policyFrom(t, gatewayTestPolicy, nil) })
	s := initAs(t, g, &identity.Identity{Subject: "dana", Roles: []string{"dev"}})
	if code, _ := errCode(t, request(t, s, nil, "1", "tools/call", `{"name":"a__x","arguments":{}}`)); code != CodePolicyDenied {
		t.Fatalf("x before reload: code %d", code)
	}
	g.SetPolicy(policyFrom(t, "policy:\n  roles:\n    dev:\n      - tools: [\"*\"]\n", nil))
	mustOK(t, request(t, s, nil, "2", "tools/call", `{"name":"a__x","arguments":{}}`))
}

func mustResult(t *testing.T, m *jsonrpc.Message) []byte {
	t.Helper()
	mustOK(t, m)
	return m.Result
}
