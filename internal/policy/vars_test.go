package policy

import (
	"fmt"
	"testing"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
)

// conditionPolicy is a policy whose one rule denies tool "t" on server "s" when cond holds.
func conditionPolicy(t *testing.T, cond string) *Policy {
	t.Helper()
	cfg, err := config.ParseWith([]byte(fmt.Sprintf(`
upstreams: [{name: s, command: x}]
policy:
  roles:
    r: [{servers: [s], tools: ["*"]}]
  rules:
    - name: cond
      effect: deny
      tools: [t]
      when: %q
`, cond)), "policy.yaml", config.Checks{Expr: func(s string) error { c, _ := NewChecker(); return c.Check(s) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(cfg.Policy, map[string]string{"s": ""})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConditionVariables: the variables are read member by member, and whatever needs a
// whole map (size, iteration, equality, membership) sees the same map as before.
func TestConditionVariables(t *testing.T) {
	id := &identity.Identity{Subject: "alice", Tenant: "acme", Roles: []string{"dev", "ops"}, Scopes: []string{"mcp"}, ClientID: "c1", Method: identity.MethodJWT}
	tests := []struct {
		cond string
		args string
		ann  map[string]any
		hist History
		want bool // the condition holds
	}{
		{cond: `identity.subject == "alice" && identity.tenant == "acme"`, want: true},
		{cond: `"ops" in identity.roles && identity.scopes == ["mcp"]`, want: true},
		{cond: `identity.client_id == "c1" && identity.method == "jwt"`, want: true},
		{cond: `size(identity) == 6`, want: true},
		{cond: `identity.exists(k, k == "tenant")`, want: true},
		{cond: `"tenant" in identity && !("nope" in identity)`, want: true},
		{cond: `has(identity.subject) && !has(identity.nope)`, want: true},
		{cond: `args.amount > 1000`, args: `{"amount": 5000, "to": "x"}`, want: true},
		{cond: `args.amount == 5000`, args: `{"amount": 5000}`, want: true},
		{cond: `args.amount > 1000`, args: `{"amount": 5}`, want: false},
		{cond: `args.to == "b\u00e9" && args.flag && args.none == null`, args: `{"to": "b\u00e9", "flag": true, "none": null}`, want: true},
		{cond: `args.nested.k == "v" && args.list[1] == 2.0`, args: `{"nested": {"k": "v"}, "list": [1, 2]}`, want: true},
		{cond: `size(args) == 2 && "a" in args`, args: `{"a": 1, "b": 2}`, want: true},
		{cond: `args == {"a": 1.0}`, args: `{"a": 1}`, want: true},
		{cond: `args.exists(k, k == "b")`, args: `{"a": 1, "b": 2}`, want: true},
		{cond: `size(args) == 0`, args: `[1, 2]`, want: true},
		{cond: `size(args) == 0 && !has(args.a)`, args: ``, want: true},
		{cond: `has(tool.annotations.destructiveHint) && tool.annotations.destructiveHint`, ann: map[string]any{"destructiveHint": true}, want: true},
		{cond: `tool.name == "t" && size(tool.annotations) == 0 && tool.tags == []`, want: true},
		{cond: `"s/read" in session.tools && session.findings == ["secret"]`, hist: History{Tools: []string{"s/read"}, Findings: []string{"secret"}}, want: true},
		{cond: `size(session.tags) == 0`, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			p := conditionPolicy(t, tt.cond)
			req := &Request{Identity: id, Server: "s", Kind: KindTool, Name: "t", Arguments: []byte(tt.args), Annotations: tt.ann, History: tt.hist}
			d := p.Decide(req)
			if got := d.Rule == "cond"; got != tt.want {
				t.Errorf("condition held = %v, want %v (%s)", got, tt.want, d.Describe())
			}
		})
	}
}

// TestMemo: a session's memo gives the decisions a fresh evaluation gives, while what it
// keeps depends on the identity, the tool's annotations and the policy.
func TestMemo(t *testing.T) {
	p := testPolicy(t)
	dev := &identity.Identity{Subject: "alice", Roles: []string{"developer"}}
	reader := &identity.Identity{Subject: "rita", Roles: []string{"reader", "developer"}}
	var m Memo
	decide := func(p *Policy, id *identity.Identity, name, args string, ann map[string]any) Decision {
		return p.Decide(&Request{Identity: id, Server: "files", Kind: KindTool, Name: name, Arguments: []byte(args), Annotations: ann, Memo: &m})
	}
	destructive := map[string]any{"destructiveHint": true}
	if d := decide(p, reader, "wipe", "", destructive); d.Rule != "no-destructive-for-readers" {
		t.Fatalf("reader, destructive: %s", d.Describe())
	}
	if d := decide(p, reader, "wipe", "", destructive); d.Rule != "no-destructive-for-readers" {
		t.Fatalf("reader, destructive, from the memo: %s", d.Describe())
	}
	// The tool was relisted without the hint: a new annotations map.
	if d := decide(p, reader, "wipe", "", map[string]any{"destructiveHint": false}); !d.Allow {
		t.Fatalf("reader, relisted as not destructive: %s", d.Describe())
	}
	// Another identity on the same memo starts it over.
	if d := decide(p, dev, "wipe", "", destructive); !d.Allow {
		t.Fatalf("developer, destructive: %s", d.Describe())
	}
	// A reloaded policy starts it over too.
	p2 := testPolicy(t)
	if d := decide(p2, reader, "wipe", "", destructive); d.Rule != "no-destructive-for-readers" {
		t.Fatalf("reader after reload: %s", d.Describe())
	}
	// A condition on the session's history is evaluated again once the history has grown.
	var h History
	send := func() Decision {
		return p2.Decide(&Request{Identity: reader, Server: "mail", Kind: KindTool, Name: "send_mail", History: h, Memo: &m})
	}
	if d := send(); !d.Allow {
		t.Fatalf("send before anything sensitive: %s", d.Describe())
	}
	p2.AddToHistory(&h, "files", "list")
	if d := send(); !d.Allow {
		t.Fatalf("send after a harmless call: %s", d.Describe())
	}
	p2.AddToHistory(&h, "files", "read_file")
	if d := send(); d.Rule != "no-send-after-sensitive" {
		t.Fatalf("send after reading sensitive data: %s", d.Describe())
	}
	// Conditions on the arguments are never kept.
	if d := decide(p2, reader, "explode", `{}`, nil); d.Allow {
		t.Fatalf("broken condition: %s", d.Describe())
	}
	if d := decide(p2, reader, "explode", `{"missing": {"deeper": 2}}`, nil); !d.Allow {
		t.Fatalf("the condition evaluates now: %s", d.Describe())
	}
	if d := decide(p2, reader, "explode", `{}`, nil); d.Allow {
		t.Fatalf("broken condition again: %s", d.Describe())
	}
}

// TestMemoPartial: a condition on the arguments is kept only when, for this session, the
// arguments cannot change its value.
func TestMemoPartial(t *testing.T) {
	contractor := &identity.Identity{Subject: "c", Roles: []string{"r", "contractor"}}
	employee := &identity.Identity{Subject: "e", Roles: []string{"r"}}
	tests := []struct {
		cond  string
		id    *identity.Identity
		calls []string // path argument of each call
		deny  []bool
	}{
		{`"contractor" in identity.roles && args.path.startsWith("/secret")`, employee, []string{"/secret/a", "/public", "/secret/b"}, []bool{false, false, false}},
		{`"contractor" in identity.roles && args.path.startsWith("/secret")`, contractor, []string{"/secret/a", "/public", "/secret/b"}, []bool{true, false, true}},
		{`"contractor" in identity.roles || args.path == "/x"`, contractor, []string{"/x", "/y"}, []bool{true, true}},
		{`"contractor" in identity.roles || args.path == "/x"`, employee, []string{"/y", "/x", "/y"}, []bool{false, true, false}},
		{`identity.tenant == "t" && now.getHours() >= 0`, employee, []string{"/a", "/b"}, []bool{false, false}},
		{`identity.tenant == "" && now.getHours() >= 0 && args.path == "/x"`, employee, []string{"/a", "/x", "/a"}, []bool{false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.cond+"/"+tt.id.Subject, func(t *testing.T) {
			p := conditionPolicy(t, tt.cond)
			var m Memo
			for i, path := range tt.calls {
				d := p.Decide(&Request{Identity: tt.id, Server: "s", Kind: KindTool, Name: "t", Arguments: []byte(fmt.Sprintf(`{"path":%q}`, path)), Memo: &m})
				if got := !d.Allow; got != tt.deny[i] {
					t.Errorf("call %d (%s): denied = %v, want %v (%s)", i, path, got, tt.deny[i], d.Describe())
				}
			}
		})
	}
}

// TestMemoByArgs: a condition that reads args only by member is kept per session for the raw
// values of those members; each decision must equal the one made without a memo, whatever
// the sequence of arguments.
func TestMemoByArgs(t *testing.T) {
	id := &identity.Identity{Subject: "e", Roles: []string{"r"}}
	calls := []string{
		`{"path":"/secret/a"}`, `{"path":"/secret/a"}`, `{"path":"/public"}`, `{"path": "/secret/a"}`,
		`{}`, `{"other":1}`, `{"path":"/secret/a","size":5}`, `{"size":2000000}`, `{"size":2000000}`,
		`{"path":"\/secret\/b"}`, `{"path":{"nested":true}}`, `{"path":"/public"}`,
	}
	tests := []struct {
		cond   string
		byArgs bool
	}{
		{`has(args.path) && args.path.startsWith("/secret")`, true},
		{`has(args.size) && args.size > 1000000`, true},
		{`args.path == "/public" || (has(args.size) && args.size == 5)`, true},
		{`"e" == identity.subject && args.path.startsWith("/secret")`, true}, // an error without path: fails closed
		{`size(args) > 1`, false},
		{`args.exists(k, k == "size")`, false},
		{`"path" in args`, false},
		{`[{"x": 1}].exists(args, args.x == 1) && has(args.path)`, false}, // args shadowed
		{`has(args.path) && now.getHours() >= 0 && args.path == "/public"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			p := conditionPolicy(t, tt.cond)
			if got := p.target("s", KindTool, "t").rules[0].byArgs; got != tt.byArgs {
				t.Fatalf("byArgs = %v, want %v", got, tt.byArgs)
			}
			var m Memo
			hist := History{}
			for i, args := range calls {
				if i == 6 {
					p.AddToHistory(&hist, "s", "t") // a history change must not confuse it
				}
				req := Request{Identity: id, Server: "s", Kind: KindTool, Name: "t", Arguments: []byte(args), History: hist}
				want := p.Decide(&req)
				req.Memo = &m
				got := p.Decide(&req)
				if got.Allow != want.Allow || got.Rule != want.Rule || got.Reason != want.Reason {
					t.Errorf("call %d (%s): with memo %s, without %s", i, args, got.Describe(), want.Describe())
				}
			}
		})
	}
}

// TestArgsKey: keys differ whenever a read member's presence or raw value differs.
func TestArgsKey(t *testing.T) {
	members := []string{"a", "b"}
	key := func(args string) string { return string(appendArgsKey(nil, []byte(args), members)) }
	same := [][2]string{
		{`{"a":1,"b":"x"}`, `{"b":"x","a":1}`},
		{`{"a":1,"c":2}`, `{"a":1,"c":3}`},
		{`{}`, ``},
	}
	for _, s := range same {
		if key(s[0]) != key(s[1]) {
			t.Errorf("%s and %s: keys differ", s[0], s[1])
		}
	}
	differ := [][2]string{
		{`{"a":1}`, `{"a":2}`},
		{`{"a":1}`, `{"b":1}`},
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":"xy","b":"z"}`, `{"a":"x","b":"yz"}`},
		{`{}`, `{"a":null}`},
	}
	for _, d := range differ {
		if key(d[0]) == key(d[1]) {
			t.Errorf("%s and %s: same key", d[0], d[1])
		}
	}
}
