package config

import (
	"reflect"
	"testing"
)

func TestInspectionSection(t *testing.T) {
	cfg, err := parseHere(t, `
inspection:
  threshold: 0.9
  secrets: {entropy: false, disable: [generic-api-key]}
  pii: {types: [email, iban]}
  hidden_text: false
  egress: {allow: [api.example.com, "*.corp.example", "@example.com", 10.1.0.0/16], block_private: false, resolve: true}
  max_bytes: 1MiB
  actions:
    - {type: pii, rule: iban, server: "bank-*", direction: inbound, kind: result, action: redact}
upstreams:
  - {name: up, transport: streamable_http, url: "http://127.0.0.1:9/mcp"}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Inspection{Enabled: true, Threshold: 0.9, Secrets: true, SecretsEntropy: false, SecretsDisable: []string{"generic-api-key"},
		PII: []string{"email", "iban"}, Hidden: false, EgressAllow: []string{"api.example.com", "*.corp.example", "@example.com", "10.1.0.0/16"},
		EgressBlockPrivate: false, EgressResolve: true, MaxBytes: 1 << 20,
		Actions: []InspectionAction{{Type: "pii", Rule: "iban", Server: "bank-*", Direction: "inbound", Kind: "result", Action: "redact"}}}
	if !reflect.DeepEqual(cfg.Inspection, want) {
		t.Errorf("got  %+v\nwant %+v", cfg.Inspection, want)
	}
	off, err := parseHere(t, "inspection: {enabled: false}\nupstreams:\n  - {name: up, transport: streamable_http, url: \"http://127.0.0.1:9/mcp\"}\n")
	if err != nil || off.Inspection.Enabled {
		t.Errorf("enabled: false: %v %+v", err, off.Inspection)
	}
}
