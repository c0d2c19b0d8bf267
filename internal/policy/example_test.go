package policy_test

import (
	"fmt"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
	"gatehouse/internal/policy"
)

// A role grants a server's tools; a rule with a CEL condition over the session's history
// denies sending anything after a sensitive read.
func ExamplePolicy_Decide() {
	cfg, err := config.Parse([]byte(`
upstreams: [{name: mail, command: x}, {name: files, command: x}]
policy:
  tags: {sensitive: ["files/read_*"]}
  roles:
    dev: [{servers: [mail, files], tools: ["*"]}]
  rules:
    - name: no-send-after-sensitive
      effect: deny
      reason: a session that read sensitive files may not send mail
      tools: ["send_*"]
      when: '"sensitive" in session.tags'
`), "example.yaml")
	if err != nil {
		panic(err)
	}
	p, err := policy.Compile(cfg.Policy, nil)
	if err != nil {
		panic(err)
	}
	alice := &identity.Identity{Subject: "alice", Roles: []string{"dev"}}
	var history policy.History
	send := &policy.Request{Identity: alice, Server: "mail", Kind: policy.KindTool, Name: "send_mail"}

	fmt.Println(p.Decide(send).Describe())
	p.AddToHistory(&history, "files", "read_file")
	send.History = history
	fmt.Println(p.Decide(send).Describe())
	fmt.Println(p.Decide(&policy.Request{Identity: &identity.Identity{Subject: "bob"}, Server: "mail", Kind: policy.KindTool, Name: "send_mail"}).Describe())
	// Output:
	// allow by role:dev
	// deny by no-send-after-sensitive: a session that read sensitive files may not send mail
	// deny by default-deny: no role of "bob" grants tool "send_mail" on server "mail"
}
