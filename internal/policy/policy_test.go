package policy

import (
	"slices"
	"strings"
	"testing"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
)

// testPolicy is a policy as a configuration file would give it.
func testPolicy(t *testing.T) *Policy {
	t.Helper()
	cfg, err := config.ParseWith([]byte(`
upstreams:
  - name: mail
    command: x
  - name: files
    command: x
  - name: acme-crm
    command: x
    tenant: acme
policy:
  tags:
    sensitive: ["files/read_*", "acme-crm/*"]
  roles:
    developer:
      - servers: [mail, files]
        tools: ["*"]
        prompts: ["*"]
        resources: ["file:///*"]
    reader:
      - servers: [files]
        tools: ["read_*"]
    crm:
      - servers: [acme-crm]
        tools: ["*"]
  rules:
    - name: no-send-after-sensitive
      effect: deny
      reason: a session that read sensitive data may not send it anywhere
      tools: ["send_*"]
      when: '"sensitive" in session.tags'
    - name: no-destructive-for-readers
      effect: deny
      reason: readers may not run destructive tools
      when: '"reader" in identity.roles && has(tool.annotations.destructiveHint) && tool.annotations.destructiveHint == true'
    - name: big-transfers-need-approval
      effect: require_approval
      reason: transfers over 1000
      servers: [mail]
      tools: [transfer]
      when: 'has(args.amount) && args.amount > 1000'
    - name: hide-passwords
      effect: redact
      tools: ["*"]
      redact: {arguments: [password], result: ["structuredContent.secret"]}
    - name: ops-may-ping
      effect: allow
      tools: [ping]
      when: '"ops" in identity.roles'
    - name: broken-condition
      effect: deny
      reason: fails closed
      tools: [explode]
      when: 'args.missing.deeper == 1'
`), "policy.yaml", config.Checks{Expr: func(s string) error { c, _ := NewChecker(); return c.Check(s) }})
	if err != nil {
		t.Fatal(err)
	}
	tenants := map[string]string{}
	for _, u := range cfg.Upstreams {
		tenants[u.Name] = u.Tenant
	}
	p, err := Compile(cfg.Policy, tenants)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecide(t *testing.T) {
	p := testPolicy(t)
	dev := &identity.Identity{Subject: "alice", Roles: []string{"developer"}}
	reader := &identity.Identity{Subject: "rita", Roles: []string{"reader"}}
	acme := &identity.Identity{Subject: "carl", Tenant: "acme", Roles: []string{"crm", "developer"}}
	other := &identity.Identity{Subject: "olga", Tenant: "globex", Roles: []string{"crm"}}
	ops := &identity.Identity{Subject: "oscar", Roles: []string{"ops"}}
	sensitive := History{}
	p.AddToHistory(&sensitive, "files", "read_file")

	tests := []struct {
		name     string
		req      Request
		allow    bool
		rule     string
		inReason string
	}{
		{"role grants", Request{Identity: dev, Server: "mail", Kind: KindTool, Name: "send_mail"}, true, "role:developer", ""},
		{"no role: default deny", Request{Identity: &identity.Identity{Subject: "nobody"}, Server: "mail", Kind: KindTool, Name: "send_mail"}, false, RuleDefaultDeny, `no role of "nobody" grants tool "send_mail" on server "mail"`},
		{"nil identity: default deny", Request{Server: "mail", Kind: KindTool, Name: "send_mail"}, false, RuleDefaultDeny, "anonymous"},
		{"pattern outside the grant", Request{Identity: reader, Server: "files", Kind: KindTool, Name: "write_file"}, false, RuleDefaultDeny, ""},
		{"grant on another server does not carry over", Request{Identity: reader, Server: "mail", Kind: KindTool, Name: "read_inbox"}, false, RuleDefaultDeny, ""},
		{"prompt granted", Request{Identity: dev, Server: "files", Kind: KindPrompt, Name: "summarise"}, true, "", ""},
		{"resource by URI pattern", Request{Identity: dev, Server: "files", Kind: KindResource, Name: "file:///tmp/a.txt"}, true, "", ""},
		{"resource outside the pattern", Request{Identity: dev, Server: "files", Kind: KindResource, Name: "https://x/y"}, false, RuleDefaultDeny, ""},
		{"send after sensitive: denied by the rule", Request{Identity: dev, Server: "mail", Kind: KindTool, Name: "send_mail", History: sensitive}, false, "no-send-after-sensitive", "may not send"},
		{"send before sensitive: allowed", Request{Identity: dev, Server: "mail", Kind: KindTool, Name: "send_mail", History: History{Tools: []string{"files/list"}}}, true, "", ""},
		{"annotation condition", Request{Identity: reader, Server: "files", Kind: KindTool, Name: "read_and_delete", Annotations: map[string]any{"destructiveHint": true}}, false, "no-destructive-for-readers", "destructive"},
		{"annotation condition not met", Request{Identity: reader, Server: "files", Kind: KindTool, Name: "read_file", Annotations: map[string]any{"readOnlyHint": true}}, true, "", ""},
		{"require approval denies with its reason", Request{Identity: dev, Server: "mail", Kind: KindTool, Name: "transfer", Arguments: []byte(`{"amount":5000}`)}, false, "big-transfers-need-approval", "requires approval"},
		{"below the approval threshold", Request{Identity: dev, Server: "mail", Kind: KindTool, Name: "transfer", Arguments: []byte(`{"amount":5}`)}, true, "", ""},
		{"allow rule grants beyond roles", Request{Identity: ops, Server: "mail", Kind: KindTool, Name: "ping"}, true, "ops-may-ping", ""},
		{"tenant's own server", Request{Identity: acme, Server: "acme-crm", Kind: KindTool, Name: "lookup"}, true, "", ""},
		{"another tenant's server", Request{Identity: other, Server: "acme-crm", Kind: KindTool, Name: "lookup"}, false, RuleTenant, "another tenant"},
		{"no tenant, tenant-owned server", Request{Identity: dev, Server: "acme-crm", Kind: KindTool, Name: "lookup"}, false, RuleTenant, ""},
		{"condition error fails closed", Request{Identity: dev, Server: "files", Kind: KindTool, Name: "explode", Arguments: []byte(`{}`)}, false, "broken-condition", "could not be evaluated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(&tt.req)
			if d.Allow != tt.allow || (tt.rule != "" && d.Rule != tt.rule) || !strings.Contains(d.Reason, tt.inReason) {
				t.Errorf("got %s (allow=%v), want allow=%v rule %q reason containing %q", d.Describe(), d.Allow, tt.allow, tt.rule, tt.inReason)
			}
			// A session's memo, filled or not, decides the same.
			withMemo := tt.req
			withMemo.Memo = &Memo{}
			for range 2 {
				if m := p.Decide(&withMemo); m.Describe() != d.Describe() || !slices.Equal(m.Matched, d.Matched) {
					t.Errorf("with a memo: %s, without: %s", m.Describe(), d.Describe())
				}
			}
		})
	}
}

func TestRedactionsCollected(t *testing.T) {
	p := testPolicy(t)
	d := p.Decide(&Request{Identity: &identity.Identity{Subject: "a", Roles: []string{"developer"}}, Server: "mail", Kind: KindTool, Name: "login"})
	if !d.Allow || strings.Join(d.RedactArguments, ",") != "password" || strings.Join(d.RedactResult, ",") != "structuredContent.secret" {
		t.Fatalf("decision %+v", d)
	}
}

func TestNoPolicyDeniesEverything(t *testing.T) {
	p, err := Compile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Decide(&Request{Identity: &identity.Identity{Subject: "a", Roles: []string{"admin"}}, Server: "s", Kind: KindTool, Name: "t"})
	if d.Allow || d.Rule != RuleNoPolicy {
		t.Fatalf("%+v", d)
	}
	if p.Visible(&identity.Identity{Roles: []string{"admin"}}, "s", KindTool, "t") {
		t.Fatal("visible without a policy")
	}
}

func TestVisible(t *testing.T) {
	p := testPolicy(t)
	reader := &identity.Identity{Subject: "rita", Roles: []string{"reader"}}
	other := &identity.Identity{Subject: "olga", Tenant: "globex", Roles: []string{"crm"}}
	for _, tt := range []struct {
		id     *identity.Identity
		server string
		name   string
		want   bool
	}{
		{reader, "files", "read_file", true},
		{reader, "files", "write_file", false},
		{reader, "mail", "send_mail", false},
		{other, "acme-crm", "lookup", false},
		// Conditional rules decide at call time: the tool stays listed.
		{&identity.Identity{Roles: []string{"developer"}}, "mail", "send_mail", true},
	} {
		if got := p.Visible(tt.id, tt.server, KindTool, tt.name); got != tt.want {
			t.Errorf("Visible(%s, %s/%s) = %v, want %v", tt.id.Subject, tt.server, tt.name, got, tt.want)
		}
	}
}

func TestBadConditionsAreConfigProblems(t *testing.T) {
	_, err := config.ParseWith([]byte(`
upstreams: [{name: a, command: x}]
policy:
  rules:
    - {name: r1, effect: deny, when: 'args.amount >'}
    - {name: r2, effect: deny, when: '"a" + 1'}
    - {name: r3, effect: deny, when: 'server'}
`), "p.yaml", config.Checks{Expr: func(s string) error { c, _ := NewChecker(); return c.Check(s) }})
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, want := range []string{"p.yaml:5:", "policy.rules[0].when: invalid CEL condition", "p.yaml:6:", "policy.rules[1].when", "p.yaml:7:", "policy.rules[2].when: CEL condition must be a bool"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, path, want string }{
		{`{"a":1,"password":"x"}`, "password", `{"a":1,"password":"[REDACTED:policy]"}`},
		{`{"content":[{"type":"text","text":"s1"},{"type":"text","text":"s2"}]}`, "content.*.text", `{"content":[{"text":"[REDACTED:policy]","type":"text"},{"text":"[REDACTED:policy]","type":"text"}]}`},
		{`{"a":{"b":[1,2,3]}}`, "a.b.1", `{"a":{"b":[1,"[REDACTED:policy]",3]}}`},
		{`{"n":12345678901234567890}`, "missing", `{"n":12345678901234567890}`},
	}
	for _, tt := range tests {
		got, _, err := Redact([]byte(tt.in), []string{tt.path})
		if err != nil || string(got) != tt.want {
			t.Errorf("Redact(%s, %s) = %s, %v; want %s", tt.in, tt.path, got, err, tt.want)
		}
	}
}

func TestPattern(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "x", true}, {"send_*", "send_mail", true}, {"send_*", "resend_mail", false},
		{"*_mail", "send_mail", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false}, {"exact", "exact", true},
		{"exact", "exactly", false}, {"file:///*", "file:///etc/passwd", true}, {"a*a", "a", false},
	} {
		if got := compilePattern(tt.p).match(tt.s); got != tt.want {
			t.Errorf("%q ~ %q = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

// A condition that iterates is bounded at run time; one that runs over its budget fails
// closed.
func TestConditionCostLimit(t *testing.T) {
	cfg, err := config.Parse([]byte(`
upstreams: [{name: s, command: x}]
policy:
  roles: {r: [{tools: ["*"]}]}
  rules:
    - name: expensive
      effect: deny
      reason: expensive condition
      when: 'args.items.all(x, args.items.all(y, args.items.all(z, x + y + z >= 0)))'
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(cfg.Policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]string, 200)
	for i := range items {
		items[i] = "1"
	}
	id := &identity.Identity{Subject: "a", Roles: []string{"r"}}
	small := p.Decide(&Request{Identity: id, Server: "s", Kind: KindTool, Name: "t", Arguments: []byte(`{"items":[1,2]}`)})
	if small.Allow || small.Rule != "expensive" || strings.Contains(small.Reason, "could not be evaluated") {
		t.Fatalf("small input: %s", small.Describe())
	}
	big := p.Decide(&Request{Identity: id, Server: "s", Kind: KindTool, Name: "t", Arguments: []byte(`{"items":[` + strings.Join(items, ",") + `]}`)})
	if big.Allow || !strings.Contains(big.Reason, "could not be evaluated") {
		t.Fatalf("over budget: %s", big.Describe())
	}
}
