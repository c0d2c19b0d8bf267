package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"gatehouse/internal/identity"
)

// CaseFile is a file of policy test cases: the configuration whose policy they test, and
// the cases.
type CaseFile struct {
	Path   string `yaml:"-"`
	Config string `yaml:"config"` // relative to the case file
	Cases  []Case `yaml:"cases"`
}

// Case is one decision and what it should be.
type Case struct {
	Name        string         `yaml:"name"`
	Identity    CaseIdentity   `yaml:"identity"`
	Request     CaseRequest    `yaml:"request"`
	Annotations map[string]any `yaml:"annotations"`
	History     CaseHistory    `yaml:"history"`
	Time        string         `yaml:"time"` // RFC 3339; default now
	Expect      CaseExpect     `yaml:"expect"`
	Line        int            `yaml:"-"`
}

// CaseIdentity is who asks.
type CaseIdentity struct {
	Subject  string   `yaml:"subject"`
	Tenant   string   `yaml:"tenant"`
	Roles    []string `yaml:"roles"`
	Scopes   []string `yaml:"scopes"`
	ClientID string   `yaml:"client_id"`
}

// CaseRequest is what is asked: exactly one of tool, prompt or resource.
type CaseRequest struct {
	Server    string         `yaml:"server"`
	Tool      string         `yaml:"tool"`
	Prompt    string         `yaml:"prompt"`
	Resource  string         `yaml:"resource"`
	Arguments map[string]any `yaml:"arguments"`
}

// CaseHistory is what the session did before.
type CaseHistory struct {
	Tools    []string `yaml:"tools"` // "server/tool"; their tags are added from the policy
	Findings []string `yaml:"findings"`
}

// CaseExpect is the expected decision.
type CaseExpect struct {
	Effect          string   `yaml:"effect"` // allow, deny or require_approval
	Rule            string   `yaml:"rule"`
	ReasonContains  string   `yaml:"reason_contains"`
	RedactArguments []string `yaml:"redact_arguments"`
	RedactResult    []string `yaml:"redact_result"`
}

// LoadCases reads and checks a case file.
func LoadCases(path string) (*CaseFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	cf := &CaseFile{Path: path}
	if err := dec.Decode(cf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cf.Config == "" {
		return nil, fmt.Errorf("%s: config: required (the configuration whose policy is tested)", path)
	}
	if !filepath.IsAbs(cf.Config) {
		cf.Config = filepath.Join(filepath.Dir(path), cf.Config)
	}
	// Lines, for failure reports.
	if len(root.Content) > 0 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "cases" {
				for j, c := range m.Content[i+1].Content {
					if j < len(cf.Cases) {
						cf.Cases[j].Line = c.Line
					}
				}
			}
		}
	}
	var probs []string
	for i, c := range cf.Cases {
		where := fmt.Sprintf("%s:%d: cases[%d]", path, c.Line, i)
		n := 0
		for _, s := range []string{c.Request.Tool, c.Request.Prompt, c.Request.Resource} {
			if s != "" {
				n++
			}
		}
		switch {
		case c.Name == "":
			probs = append(probs, where+": name: required")
		case c.Request.Server == "":
			probs = append(probs, where+": request.server: required")
		case n != 1:
			probs = append(probs, where+": request: give exactly one of tool, prompt or resource")
		case !slices.Contains([]string{"allow", "deny", "require_approval"}, c.Expect.Effect):
			probs = append(probs, where+": expect.effect: must be allow, deny or require_approval")
		}
		if c.Time != "" {
			if _, err := time.Parse(time.RFC3339, c.Time); err != nil {
				probs = append(probs, where+": time: "+err.Error())
			}
		}
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(probs, "\n"))
	}
	return cf, nil
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case     *Case
	Decision Decision
	Failures []string // empty when the case passed
}

// Run decides c and compares with its expectation.
func (p *Policy) Run(c *Case) CaseResult {
	req := &Request{
		Identity: &identity.Identity{Subject: c.Identity.Subject, Tenant: c.Identity.Tenant, Roles: c.Identity.Roles,
			Scopes: c.Identity.Scopes, ClientID: c.Identity.ClientID, Method: identity.MethodJWT},
		Server:      c.Request.Server,
		Annotations: c.Annotations,
	}
	switch {
	case c.Request.Tool != "":
		req.Kind, req.Name = KindTool, c.Request.Tool
	case c.Request.Prompt != "":
		req.Kind, req.Name = KindPrompt, c.Request.Prompt
	default:
		req.Kind, req.Name = KindResource, c.Request.Resource
	}
	if c.Request.Arguments != nil {
		req.Arguments, _ = json.Marshal(c.Request.Arguments)
	}
	for _, t := range c.History.Tools {
		srv, tool, _ := strings.Cut(t, "/")
		p.AddToHistory(&req.History, srv, tool)
	}
	req.History.Findings = c.History.Findings
	if c.Time != "" {
		req.Now, _ = time.Parse(time.RFC3339, c.Time)
	}
	d := p.Decide(req)
	r := CaseResult{Case: c, Decision: d}
	e := c.Expect
	if d.Effect != e.Effect {
		r.Failures = append(r.Failures, fmt.Sprintf("effect: want %s, got %s", e.Effect, d.Describe()))
	}
	if e.Rule != "" && d.Rule != e.Rule {
		r.Failures = append(r.Failures, fmt.Sprintf("rule: want %q, got %q", e.Rule, d.Rule))
	}
	if e.ReasonContains != "" && !strings.Contains(d.Reason, e.ReasonContains) {
		r.Failures = append(r.Failures, fmt.Sprintf("reason: want it to contain %q, got %q", e.ReasonContains, d.Reason))
	}
	if e.RedactArguments != nil && !slices.Equal(e.RedactArguments, d.RedactArguments) {
		r.Failures = append(r.Failures, fmt.Sprintf("redact_arguments: want %v, got %v", e.RedactArguments, d.RedactArguments))
	}
	if e.RedactResult != nil && !slices.Equal(e.RedactResult, d.RedactResult) {
		r.Failures = append(r.Failures, fmt.Sprintf("redact_result: want %v, got %v", e.RedactResult, d.RedactResult))
	}
	return r
}
