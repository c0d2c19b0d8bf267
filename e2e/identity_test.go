package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"gatehouse/internal/identity/oidctest"
)

// recordingUpstream is a Go SDK MCP server over Streamable HTTP that records the
// Authorization header of every request it gets.
type recordingUpstream struct {
	URL    string
	mu     sync.Mutex
	got    []string
	called []string // tools run, in order
}

func (r *recordingUpstream) calledTools() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.called)
}

func (r *recordingUpstream) authorizations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func startRecordingUpstream(t *testing.T, name string, tools ...string) *recordingUpstream {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	r := &recordingUpstream{}
	type in struct {
		Text     string `json:"text,omitempty"`
		Password string `json:"password,omitempty"`
	}
	for _, tool := range tools {
		mcp.AddTool(srv, &mcp.Tool{Name: tool, Description: "test tool " + tool}, func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			r.mu.Lock()
			r.called = append(r.called, tool)
			r.mu.Unlock()
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: tool + ": " + args.Text + "|" + args.Password}}}, nil, nil
		})
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, req.Header.Get("Authorization"))
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(hs.Close)
	r.URL = hs.URL
	return r
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func goClientWithToken(t *testing.T, ctx context.Context, url, token, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-identity", Version: "1"}, nil)
	var opts *mcp.ClientSessionOptions
	if version != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}}, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(t *testing.T, ctx context.Context, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	slices.Sort(out)
	return out
}

// rawPost sends one JSON-RPC message and returns the response.
func rawPost(t *testing.T, url, auth, session, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

const identityPolicyYAML = `
auth:
  resource: http://127.0.0.1:{{PORT}}/mcp
  required_scopes: [mcp]
  api_keys: true
  jwt:
    issuer: %ISSUER%
    clock_skew: 30s
    claims: {roles: groups, tenant: org}
    role_map: {eng: [developer], acme-crm: [crm]}
  introspection:
    url: %ISSUER%/introspect
    client_id: gatehouse
    client_secret: {env: GH_INTROSPECTION_SECRET}
    claims: {roles: groups, tenant: org}
    role_map: {eng: [developer]}
policy:
  tags:
    sensitive: ["mail/read_secret"]
  roles:
    developer:
      - servers: [mail]
        tools: [echo, read_secret, send_email, login]
    crm:
      - servers: [acme]
        tools: [lookup]
    service:
      - servers: [mail]
        tools: [echo]
  rules:
    - name: no-send-after-sensitive
      effect: deny
      reason: a session that read a secret may not send email
      tools: ["send_*"]
      when: '"sensitive" in session.tags'
    - name: redact-passwords
      effect: redact
      tools: [login]
      redact: {arguments: [password]}
`

// TestIdentityAndPolicy runs the gateway binary behind a real OpenID provider (discovery
// and JWKS over HTTP) with the official SDK clients: authentication, the attack suite,
// session binding, tenants, policy decisions and redaction, API keys, and an upstream
// that proves no client token ever reached it.
func TestIdentityAndPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	mail := startRecordingUpstream(t, "mail", "echo", "read_secret", "send_email", "login", "lookup", "wipe")
	acme := startRecordingUpstream(t, "acme", "lookup")
	const upstreamSecret = "Bearer upstream-credential-of-the-gateway"
	yaml := strings.ReplaceAll(identityPolicyYAML, "%ISSUER%", is.URL) +
		"upstreams:\n" +
		UpstreamHTTPYAML("mail", mail.URL+"/mcp", "headers: {Authorization: {env: MAIL_TOKEN}}\n") +
		UpstreamHTTPYAML("acme", acme.URL+"/mcp", "tenant: acme\n")
	yaml = "listen: {address: 127.0.0.1:{{PORT}}}\nlog: {level: debug, format: text}\n" + yaml
	is.AddClient("gatehouse", "introspection-secret")
	gh := StartGatehouse(t, yaml, "MAIL_TOKEN="+upstreamSecret, "GH_INTROSPECTION_SECRET=introspection-secret")
	aud := gh.URL

	token := func(c oidctest.Claims) string {
		base := oidctest.Claims{"aud": aud, "scope": "mcp", "groups": []string{"eng"}, "sub": "alice"}
		for k, v := range c {
			base[k] = v
		}
		return is.Token(base)
	}
	alice := token(nil)

	t.Run("metadata and challenge", func(t *testing.T) {
		resp, _ := rawPost(t, gh.URL, "", "", initBody)
		wantMeta := gh.Base + "/.well-known/oauth-protected-resource/mcp"
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="`+wantMeta+`"`) {
			t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		for _, u := range []string{wantMeta, gh.Base + "/.well-known/oauth-protected-resource"} {
			r, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Resource             string   `json:"resource"`
				AuthorizationServers []string `json:"authorization_servers"`
				Scopes               []string `json:"scopes_supported"`
			}
			json.NewDecoder(r.Body).Decode(&doc)
			r.Body.Close()
			if doc.Resource != aud || !slices.Equal(doc.AuthorizationServers, []string{is.URL}) || !slices.Equal(doc.Scopes, []string{"mcp"}) {
				t.Errorf("%s: %+v", u, doc)
			}
		}
	})

	t.Run("attack suite", func(t *testing.T) {
		pub := is.PublicKey("rsa-1")
		var rawPub any
		if err := jwk.Export(pub, &rawPub); err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(rawPub)
		parts := strings.Split(alice, ".")
		b64 := base64.RawURLEncoding.EncodeToString
		now := time.Now()
		other, _ := oidctest.New()
		defer other.Close()
		attacks := map[string]string{
			"alg none":                b64([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + parts[1] + ".",
			"HS256 with the RSA key":  is.TokenWith(oidctest.Claims{"aud": aud, "scope": "mcp", "sub": "alice", "groups": []string{"eng"}}, jwa.HS256(), der, "rsa-1"),
			"wrong issuer":            other.Token(oidctest.Claims{"aud": aud, "scope": "mcp", "sub": "alice"}),
			"wrong audience":          token(oidctest.Claims{"aud": "http://127.0.0.1:1/mcp"}),
			"expired":                 token(oidctest.Claims{"exp": now.Add(-5 * time.Minute).Unix()}),
			"not yet valid":           token(oidctest.Claims{"nbf": now.Add(5 * time.Minute).Unix()}),
			"unknown kid":             other.TokenWith(oidctest.Claims{"iss": is.URL, "aud": aud, "scope": "mcp", "sub": "alice"}, jwa.RS256(), mustPrivate(t), "rsa-9"),
			"tampered payload":        parts[0] + "." + b64([]byte(`{"iss":"`+is.URL+`","aud":"`+aud+`","sub":"root","scope":"mcp","groups":["eng"],"exp":9999999999}`)) + "." + parts[2],
			"garbage":                 "not-a-token",
			"revoked-looking API key": "ghk_0000000000000000_nope",
		}
		for name, tok := range attacks {
			resp, body := rawPost(t, gh.URL, "Bearer "+tok, "", initBody)
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s: HTTP %d %q %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
		// The token in the query string is refused even when it is valid.
		resp, _ := rawPost(t, gh.URL+"?access_token="+alice, "", "", initBody)
		if resp.StatusCode != 400 {
			t.Errorf("query token: HTTP %d", resp.StatusCode)
		}
		// A valid token without the required scope: 403 insufficient_scope.
		resp, _ = rawPost(t, gh.URL, "Bearer "+token(oidctest.Claims{"scope": "other"}), "", initBody)
		if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("missing scope: HTTP %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("session bound to its identity", func(t *testing.T) {
		resp, _ := rawPost(t, gh.URL, "Bearer "+alice, "", initBody)
		sid := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != 200 || sid == "" {
			t.Fatalf("initialize: %d", resp.StatusCode)
		}
		bob := token(oidctest.Claims{"sub": "bob"})
		resp, body := rawPost(t, gh.URL, "Bearer "+bob, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		if resp.StatusCode != 403 || !strings.Contains(body, "belongs to another identity") {
			t.Errorf("replayed session: HTTP %d %s", resp.StatusCode, body)
		}
		// The log reaches the test through a pipe: give it a moment.
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(gh.Logs.String(), "session presented by another identity"); {
			if time.Now().After(deadline) {
				t.Error("the refused replay was not logged")
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		resp, _ = rawPost(t, gh.URL, "Bearer "+alice, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
		if resp.StatusCode != 200 {
			t.Errorf("owner on own session: HTTP %d", resp.StatusCode)
		}
		// ... and recorded in the audit trail, under the identity that tried.
		sec := pollRecords(t, gh.Config, 1, "--kind", "security")
		if len(sec) != 1 || sec[0]["subject"] != "bob" || sec[0]["event"] != "session_presented_by_another_identity" {
			t.Errorf("security records: %v", sec)
		}
	})

	t.Run("duplicate member names cannot smuggle a denied tool or argument", func(t *testing.T) {
		resp, _ := rawPost(t, gh.URL, "Bearer "+alice, "", initBody)
		sid := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != 200 || sid == "" {
			t.Fatalf("initialize: %d", resp.StatusCode)
		}
		rawPost(t, gh.URL, "Bearer "+alice, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		before := len(mail.calledTools())
		// The gateway would check the first name (granted), the upstream's JSON parser takes
		// the last (the local name of a tool the role does not grant).
		for i, body := range []string{
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"mail__echo","arguments":{},"name":"wipe"}}`,
			`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"mail__echo","n\u0061me":"wipe"}}`,
			`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"mail__login","arguments":{"password":"x","text":"a","password":"hunter2"}}}`,
		} {
			resp, out := rawPost(t, gh.URL, "Bearer "+alice, sid, body)
			if !strings.Contains(out, `"code":-32600`) || !strings.Contains(out, "duplicate member name") {
				t.Errorf("case %d: HTTP %d %s", i, resp.StatusCode, out)
			}
		}
		if got := mail.calledTools()[before:]; len(got) != 0 {
			t.Errorf("the upstream ran %v", got)
		}
	})

	t.Run("policy through the Go SDK client", func(t *testing.T) {
		cs := goClientWithToken(t, ctx, gh.URL, alice, "2025-11-25")
		if got, want := toolNames(t, ctx, cs), []string{"mail__echo", "mail__login", "mail__read_secret", "mail__send_email"}; !slices.Equal(got, want) {
			t.Fatalf("tools/list = %v, want %v", got, want)
		}
		call := func(name string, args map[string]any) (*mcp.CallToolResult, error) {
			return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		}
		if _, err := call("mail__send_email", map[string]any{"text": "hi"}); err != nil {
			t.Fatalf("send_email before any secret: %v", err)
		}
		// A tool the role does not grant, and the same name through another namespace.
		for _, name := range []string{"mail__wipe", "mail__lookup", "acme__lookup"} {
			if _, err := call(name, nil); err == nil || !strings.Contains(err.Error(), "denied by policy") {
				t.Errorf("%s: %v", name, err)
			}
		}
		res, err := call("mail__login", map[string]any{"text": "alice", "password": "hunter2"})
		if err != nil || res.Content[0].(*mcp.TextContent).Text != "login: alice|[REDACTED:policy]" {
			t.Errorf("login with redaction: %v %+v", err, res)
		}
		if _, err := call("mail__read_secret", nil); err != nil {
			t.Fatal(err)
		}
		_, err = call("mail__send_email", map[string]any{"text": "exfil"})
		if err == nil || !strings.Contains(err.Error(), "no-send-after-sensitive") {
			t.Errorf("send_email after read_secret: %v", err)
		}
	})

	t.Run("policy for a 2026-07-28 client", func(t *testing.T) {
		cs := goClientWithToken(t, ctx, gh.URL, alice, "")
		if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
			t.Logf("negotiated %s", v)
		}
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "mail__echo", Arguments: map[string]any{"text": "x"}}); err != nil {
			t.Errorf("echo: %v", err)
		}
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "mail__wipe"}); err == nil || !strings.Contains(err.Error(), "denied by policy") {
			t.Errorf("wipe: %v", err)
		}
	})

	t.Run("tenants", func(t *testing.T) {
		outsider := goClientWithToken(t, ctx, gh.URL, token(oidctest.Claims{"sub": "olga", "org": "globex", "groups": []string{"acme-crm"}}), "2025-11-25")
		if got := toolNames(t, ctx, outsider); len(got) != 0 {
			t.Errorf("another tenant's member sees %v", got)
		}
		_, err := outsider.CallTool(ctx, &mcp.CallToolParams{Name: "acme__lookup"})
		if err == nil || !strings.Contains(err.Error(), "tenant-isolation") {
			t.Errorf("another tenant's call: %v", err)
		}
		member := goClientWithToken(t, ctx, gh.URL, token(oidctest.Claims{"sub": "carl", "org": "acme", "groups": []string{"acme-crm"}}), "2025-11-25")
		if got := toolNames(t, ctx, member); !slices.Equal(got, []string{"acme__lookup"}) {
			t.Errorf("tenant member sees %v", got)
		}
		if _, err := member.CallTool(ctx, &mcp.CallToolParams{Name: "acme__lookup"}); err != nil {
			t.Errorf("tenant member's call: %v", err)
		}
	})

	t.Run("TypeScript SDK client", func(t *testing.T) {
		target := HTTPTarget(gh.URL)
		target.Headers = map[string]string{"Authorization": "Bearer " + alice}
		lines := TSClient(t, ctx, target, []map[string]any{
			{"op": "listTools"},
			{"op": "callTool", "name": "mail__echo", "arguments": map[string]any{"text": "ts"}},
			{"op": "callTool", "name": "mail__wipe", "arguments": map[string]any{}},
		})
		steps := Lines(lines, "step")
		if len(steps) != 3 || steps[0]["ok"] != true || steps[1]["ok"] != true || steps[2]["ok"] != false {
			t.Fatalf("steps: %v", lines)
		}
		if e, _ := steps[2]["error"].(map[string]any); e == nil || e["code"] != float64(-32003) {
			t.Errorf("denied call's error: %v", steps[2])
		}
		target.Headers = map[string]string{"Authorization": "Bearer " + token(oidctest.Claims{"aud": "http://elsewhere/mcp"})}
		lines = TSClient(t, ctx, target, []map[string]any{{"op": "ping"}})
		if len(Lines(lines, "error")) == 0 {
			t.Errorf("TS client with a token for another audience connected: %v", lines)
		}
	})

	t.Run("opaque token through introspection", func(t *testing.T) {
		opaque := is.Opaque(oidctest.Claims{"sub": "ophelia", "aud": aud, "scope": "mcp", "groups": []string{"eng"}})
		cs := goClientWithToken(t, ctx, gh.URL, opaque, "2025-11-25")
		if got := toolNames(t, ctx, cs); !slices.Contains(got, "mail__echo") {
			t.Errorf("opaque-token client sees %v", got)
		}
		resp, _ := rawPost(t, gh.URL, "Bearer "+is.Opaque(oidctest.Claims{"sub": "x", "aud": "http://elsewhere/mcp", "scope": "mcp"}), "", initBody)
		if resp.StatusCode != 401 {
			t.Errorf("opaque token for another audience: HTTP %d", resp.StatusCode)
		}
		if is.Introspections.Load() == 0 {
			t.Error("the introspection endpoint was never asked")
		}
	})

	t.Run("API keys", func(t *testing.T) {
		out, err := exec.Command(GatehouseBin(t), "keys", "create", "--config", gh.Config, "--subject", "svc-report", "--roles", "service", "--scopes", "mcp").Output()
		if err != nil {
			t.Fatalf("keys create: %v", err)
		}
		key := strings.TrimSpace(string(out))
		cs := goClientWithToken(t, ctx, gh.URL, key, "2025-11-25")
		if got := toolNames(t, ctx, cs); !slices.Equal(got, []string{"mail__echo"}) {
			t.Errorf("service key sees %v", got)
		}
		id := key[len("ghk_") : len("ghk_")+16]
		if out, err := exec.Command(GatehouseBin(t), "keys", "revoke", "--config", gh.Config, id).CombinedOutput(); err != nil {
			t.Fatalf("keys revoke: %v %s", err, out)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, _ := rawPost(t, gh.URL, "Bearer "+key, "", initBody)
			if resp.StatusCode == 401 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("revoked key still accepted: HTTP %d", resp.StatusCode)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("no client token reached an upstream", func(t *testing.T) {
		got := mail.authorizations()
		if len(got) == 0 {
			t.Fatal("the mail upstream recorded no requests")
		}
		for _, a := range got {
			if a != upstreamSecret {
				t.Fatalf("mail upstream got Authorization %q, want only the gateway's own credential", a)
			}
		}
		for _, a := range acme.authorizations() {
			if a != "" {
				t.Fatalf("acme upstream got Authorization %q", a)
			}
		}
		if strings.Contains(gh.Logs.String(), alice) || strings.Contains(gh.Logs.String(), "upstream-credential") {
			t.Error("a token or credential appears in the gateway's log")
		}
	})
}

func mustPrivate(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwtClaims(t *testing.T, authorization string) map[string]any {
	t.Helper()
	tok, ok := strings.CutPrefix(authorization, "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		t.Fatalf("Authorization %q is not a bearer JWT", authorization)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if l, ok := m["aud"].([]any); ok && len(l) == 1 {
		m["aud"] = l[0]
	}
	return m
}

// TestUpstreamCredentials: each upstream gets the gateway's own credentials — an RFC 8693
// token exchanged for the caller, or a client-credentials token of the gateway — from a
// real token endpoint, and never the client's token.
func TestUpstreamCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.AddClient("gatehouse", "gh-client-secret")
	mail := startRecordingUpstream(t, "mail", "echo")
	reports := startRecordingUpstream(t, "reports", "echo")
	yaml := "listen: {address: 127.0.0.1:{{PORT}}}\nlog: {level: debug, format: text}\n" + `
auth:
  resource: http://127.0.0.1:{{PORT}}/mcp
  api_keys: true
  jwt: {issuer: ` + is.URL + `}
identity:
  anonymous: {roles: []}
policy:
  roles:
    user:
      - tools: ["*"]
upstreams:
` + UpstreamHTTPYAML("mail", mail.URL+"/mcp", `credentials:
  type: token_exchange
  token_url: `+is.URL+`/token
  client_id: gatehouse
  client_secret: {env: GH_CLIENT_SECRET}
  audience: urn:mail
`) + UpstreamHTTPYAML("reports", reports.URL+"/mcp", `credentials:
  type: client_credentials
  token_url: `+is.URL+`/token
  client_id: gatehouse
  client_secret: {env: GH_CLIENT_SECRET}
  audience: urn:reports
  scopes: [reports.read]
`)
	gh := StartGatehouse(t, yaml, "GH_CLIENT_SECRET=gh-client-secret")
	alice := is.Token(oidctest.Claims{"sub": "alice", "aud": gh.URL, "roles": []string{"user"}})
	cs := goClientWithToken(t, ctx, gh.URL, alice, "2025-11-25")
	for _, tool := range []string{"mail__echo", "reports__echo"} {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": "hi"}}); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	for _, a := range mail.authorizations() {
		c := jwtClaims(t, a)
		act, _ := c["act"].(map[string]any)
		if strings.Contains(a, alice) || c["sub"] != "alice" || c["aud"] != "urn:mail" || act["sub"] != "gatehouse" {
			t.Fatalf("mail got a token with claims %v; want one exchanged for alice, for urn:mail, acted by gatehouse", c)
		}
	}
	for _, a := range reports.authorizations() {
		c := jwtClaims(t, a)
		if c["sub"] != "gatehouse" || c["aud"] != "urn:reports" || c["scope"] != "reports.read" {
			t.Fatalf("reports got a token with claims %v; want the gateway's own client-credentials token", c)
		}
	}
	if is.Exchanges.Load() == 0 || is.ClientTokens.Load() == 0 {
		t.Fatalf("token endpoint: %d exchanges, %d client-credentials grants", is.Exchanges.Load(), is.ClientTokens.Load())
	}
	if strings.Contains(gh.Logs.String(), "gh-client-secret") || strings.Contains(gh.Logs.String(), alice) {
		t.Error("a secret or token appears in the gateway's log")
	}

	// An API key has no token to exchange: the call fails closed, saying why.
	out, err := exec.Command(GatehouseBin(t), "keys", "create", "--config", gh.Config, "--subject", "svc", "--roles", "user").Output()
	if err != nil {
		t.Fatal(err)
	}
	svc := goClientWithToken(t, ctx, gh.URL, strings.TrimSpace(string(out)), "2025-11-25")
	_, err = svc.CallTool(ctx, &mcp.CallToolParams{Name: "mail__echo", Arguments: map[string]any{"text": "hi"}})
	if err == nil || !strings.Contains(err.Error(), "token exchange needs the caller's bearer token") {
		t.Fatalf("API key through token exchange: %v", err)
	}
	if _, err := svc.CallTool(ctx, &mcp.CallToolParams{Name: "reports__echo", Arguments: map[string]any{"text": "hi"}}); err != nil {
		t.Fatalf("API key to the client-credentials upstream: %v", err)
	}
}
