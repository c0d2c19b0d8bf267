package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// parseHere parses src as if it were testdata/test.yaml, so relative file references
// resolve inside testdata.
func parseHere(t *testing.T, src string) (*Config, error) {
	t.Helper()
	return Parse([]byte(src), filepath.Join("testdata", "test.yaml"))
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/bad-*.yaml files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load(%s) error = %v, want Problems", file, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s (run go test -update after checking):\n--- got\n%s--- want\n%s", golden, got, want)
			}
			for i := 1; i < len(ps); i++ {
				if ps[i].Line < ps[i-1].Line {
					t.Errorf("problems not sorted by line: %d before %d", ps[i-1].Line, ps[i].Line)
				}
			}
		})
	}
}

// TestBadManyCoversMarkedLines checks that every line of bad-many.yaml marked "# bad" has at
// least one problem, so the golden file cannot silently lose one.
func TestBadManyCoversMarkedLines(t *testing.T) {
	file := filepath.Join("testdata", "bad-many.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, file)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error = %v, want Problems", err)
	}
	lines := make(map[int]bool)
	for _, p := range ps {
		lines[p.Line] = true
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "# bad") && !strings.HasPrefix(strings.TrimSpace(line), "#") && !lines[i+1] {
			t.Errorf("line %d is marked bad but has no problem: %s", i+1, strings.TrimSpace(line))
		}
	}
}

func TestExamplesLoad(t *testing.T) {
	for _, name := range []string{"reference.yaml", "quickstart.yaml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "examples", name)
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s not present", path)
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", path, err)
			}
			if len(cfg.Upstreams) == 0 {
				t.Error("no upstreams")
			}
		})
	}
}

// TestReferenceIsDefaults checks that the defaults applied to a minimal file are exactly the
// values written in examples/reference.yaml.
func TestReferenceIsDefaults(t *testing.T) {
	ref, err := Load(filepath.Join("..", "..", "examples", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	min, err := Parse([]byte(`
upstreams:
  - name: everything
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-everything"]
    env:
      PATH: {env: PATH}
      HOME: /tmp
  - name: remote
    transport: streamable_http
    url: https://mcp.example.com/mcp
    headers:
      Authorization: {env: REMOTE_MCP_TOKEN}
`), filepath.Join("..", "..", "examples", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"listen", min.Listen, ref.Listen},
		{"limits", min.Limits, ref.Limits},
		{"log", min.Log, ref.Log},
		{"gateway", min.Gateway, ref.Gateway},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s defaults = %+v, reference.yaml = %+v", c.name, c.got, c.want)
		}
	}
	// The reference spells out empty lists where the minimal file leaves them out.
	gotI, wantI := min.Inspection, ref.Inspection
	for _, in := range []*Inspection{&gotI, &wantI} {
		in.SecretsDisable, in.EgressAllow, in.Actions = nil, nil, nil
	}
	if !reflect.DeepEqual(gotI, wantI) {
		t.Errorf("inspection defaults = %+v, reference.yaml = %+v", gotI, wantI)
	}
	for i := range ref.Upstreams {
		got, want := min.Upstreams[i], ref.Upstreams[i]
		// The reference spells out empty lists where the minimal file leaves them out.
		got.AllowMethods, want.AllowMethods = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("upstreams[%d] defaults = %+v, reference.yaml = %+v", i, got, want)
		}
	}
}

func TestGood(t *testing.T) {
	abs := func(p string) string {
		t.Helper()
		a, err := filepath.Abs(filepath.Join("testdata", p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "minimal stdio gets every default",
			src:  "upstreams:\n  - name: a\n    command: npx\n",
			check: func(t *testing.T, c *Config) {
				u := c.Upstreams[0]
				want := Upstream{
					Name: "a", Transport: TransportStdio, Command: "npx", Cwd: abs("."),
					Sharing:        SharingShared,
					Restart:        Restart{Duration(500 * time.Millisecond), Duration(30 * time.Second)},
					RequestTimeout: Duration(2 * time.Minute),
					Namespace:      true,
				}
				if !reflect.DeepEqual(u, want) {
					t.Errorf("upstream = %+v\nwant %+v", u, want)
				}
				if c.Listen.Address != "127.0.0.1:8787" || c.Listen.Path != "/mcp" || c.Listen.HealthPath != "/healthz" {
					t.Errorf("listen = %+v", c.Listen)
				}
				if c.Limits.MaxMessageBytes != 4<<20 || c.Limits.MaxHeaderBytes != 64<<10 || c.Limits.EventBuffer != 256 ||
					c.Limits.UpstreamNotificationsPerSecond != 1000 {
					t.Errorf("limits = %+v", c.Limits)
				}
				if c.Log != (Log{"info", "json"}) || c.Gateway != (Gateway{"__", "gatehouse"}) {
					t.Errorf("log = %+v, gateway = %+v", c.Log, c.Gateway)
				}
			},
		},
		{
			name: "transport inferred from url; http defaults",
			src:  "limits: {request_timeout: 5s}\nupstreams:\n  - name: r\n    url: https://x.example/mcp\n",
			check: func(t *testing.T, c *Config) {
				u := c.Upstreams[0]
				if u.Transport != TransportStreamableHTTP || u.Sharing != SharingPerSession || u.Cwd != "" {
					t.Errorf("upstream = %+v", u)
				}
				if u.RequestTimeout != Duration(5*time.Second) {
					t.Errorf("request_timeout = %v, want limits.request_timeout 5s", u.RequestTimeout)
				}
			},
		},
		{
			name: "sse defaults to per_session",
			src:  "upstreams:\n  - {name: s, transport: sse, url: 'http://h:1/sse'}\n",
			check: func(t *testing.T, c *Config) {
				if c.Upstreams[0].Sharing != SharingPerSession {
					t.Errorf("sharing = %v", c.Upstreams[0].Sharing)
				}
			},
		},
		{
			name: "explicit empty allowed_origins stays empty",
			src:  "listen: {allowed_origins: []}\nupstreams: [{name: a, command: x}]\n",
			check: func(t *testing.T, c *Config) {
				if c.Listen.AllowedOrigins == nil || len(c.Listen.AllowedOrigins) != 0 {
					t.Errorf("allowed_origins = %#v, want empty", c.Listen.AllowedOrigins)
				}
			},
		},
		{
			name: "null sections take defaults",
			src:  "listen:\nlimits: ~\nupstreams: [{name: a, command: x, cwd: ''}]\n",
			check: func(t *testing.T, c *Config) {
				if c.Listen.Address != "127.0.0.1:8787" || c.Limits.MaxSessions != 10000 {
					t.Errorf("listen = %+v limits = %+v", c.Listen, c.Limits)
				}
			},
		},
		{
			name: "aliases are followed",
			src:  "upstreams:\n  - {name: a, command: x, env: &env {A: b}}\n  - {name: b, command: y, env: *env}\n",
			check: func(t *testing.T, c *Config) {
				v, err := c.Upstreams[1].Env["A"].Resolve(nil)
				if err != nil || v != "b" {
					t.Errorf("env A = %q, %v", v, err)
				}
			},
		},
		{
			name: "size with a space before the unit",
			src:  "limits: {max_message_bytes: 4 MB}\nupstreams: [{name: a, command: x}]\n",
			check: func(t *testing.T, c *Config) {
				if c.Limits.MaxMessageBytes != 4000000 {
					t.Errorf("max_message_bytes = %d", c.Limits.MaxMessageBytes)
				}
			},
		},
		{
			name: "cpus auto and fixed",
			src:  "limits: {cpus: 3}\nupstreams: [{name: a, command: x}]\n",
			check: func(t *testing.T, c *Config) {
				if c.Limits.CPUs != 3 {
					t.Errorf("cpus = %d, want 3", c.Limits.CPUs)
				}
				auto, err := Parse([]byte("limits: {cpus: auto}\nupstreams: [{name: a, command: x}]\n"), "auto.yaml")
				if err != nil || auto.Limits.CPUs != 0 {
					t.Errorf("cpus: auto = %v, %v; want 0 (auto)", auto, err)
				}
			},
		},
		{
			name: "full file",
			src:  mustRead(t, filepath.Join("testdata", "good-full.yaml")),
			check: func(t *testing.T, c *Config) {
				if !c.Listen.TLS.Enabled() || c.Listen.TLS.CertFile != abs("cert.pem") {
					t.Errorf("listen.tls = %+v", c.Listen.TLS)
				}
				if c.Limits.MaxMessageBytes != 1<<20 || c.Limits.MaxHeaderBytes != 10000 {
					t.Errorf("sizes = %v %v", c.Limits.MaxMessageBytes, c.Limits.MaxHeaderBytes)
				}
				if c.Limits.EventBuffer != 0 || c.Limits.ReadTimeout != 0 || c.Limits.UpstreamNotificationsPerSecond != 0 {
					t.Errorf("explicit zeros were replaced: %+v", c.Limits)
				}
				if c.Gateway.Separator != "." || c.Log.SlogLevel().String() != "DEBUG" {
					t.Errorf("gateway = %+v log = %+v", c.Gateway, c.Log)
				}
				local := c.Upstreams[0]
				if local.Transport != TransportStdio || local.Cwd != abs("workdir") || local.Sharing != SharingPerSession {
					t.Errorf("local = %+v", local)
				}
				v, err := local.Env["TOKEN"].Resolve(nil)
				if err != nil || v != "token-value" {
					t.Errorf("TOKEN = %q, %v", v, err)
				}
				remote, ok := c.Upstream("remote")
				if !ok || !remote.TLS.InsecureSkipVerify || remote.RequestTimeout != 0 || remote.Sharing != SharingShared {
					t.Errorf("remote = %+v", remote)
				}
				if len(c.Upstreams) != 3 || c.Upstreams[2].Transport != TransportSSE {
					t.Errorf("upstreams = %+v", c.Upstreams)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseHere(t, tt.src)
			if err != nil {
				t.Fatalf("unexpected problems:\n%v", err)
			}
			tt.check(t, c)
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBad(t *testing.T) {
	const up = "upstreams: [{name: a, command: x}]\n"
	tests := []struct {
		name string
		src  string
		want []string // "LINE:COL: FIELD: message substring", in order
	}{
		{"empty file", "", []string{"1:1: upstreams: the file is empty"}},
		{"comments only", "# nothing\n", []string{"1:1: upstreams: the file is empty"}},
		{"no upstreams key", "log: {level: info}\n", []string{"1:1: upstreams: at least one upstream is required"}},
		{"empty upstreams", "upstreams: []\n", []string{"1:12: upstreams: at least one upstream is required"}},
		{"not a mapping", "- a\n", []string{"1:1: must be a mapping, not a list"}},
		{"unknown top key", "listn: {}\n" + up, []string{`1:1: listn: unknown key; did you mean "listen"?`}},
		{"unknown key far off", "zzz: 1\n" + up, []string{"1:1: zzz: unknown key (known keys: listen, limits"}},
		{"camelCase key", "limits: {maxSessions: 3}\n" + up, []string{`1:10: limits.maxSessions: unknown key; did you mean "max_sessions"?`}},
		{"alias to unknown", "x-env: &env {A: b}\nupstreams: [{name: a, command: x, env: *env}]\n", []string{"1:1: x-env: unknown key"}},
		{"merge key", "upstreams:\n  - <<: {name: a}\n    command: x\n", []string{"2:5: upstreams[0]: merge keys (<<) are not supported", "2:5: upstreams[0].name: required"}},
		{"duplicate top key", "log: {}\nlog: {}\n" + up, []string{"2:1: log: duplicate key (first set at line 1)"}},
		{"address", "listen: {address: localhost}\n" + up, []string{"1:19: listen.address: must be host:port"}},
		{"address port", "listen: {address: 'h:99999'}\n" + up, []string{`1:19: listen.address: port "99999" must be a number`}},
		{"health equals path", "listen: {path: /x, health_path: /x}\n" + up, []string{"1:33: listen.health_path: must differ from listen.path (/x)"}},
		{"tls missing cert", "listen: {tls: {key_file: key.pem}}\n" + up, []string{"1:15: listen.tls.cert_file: required when key_file is set"}},
		{"auth without a way in", "auth: {resource: https://g.example/mcp}\n" + up, []string{"1:7: auth: configures no way to authenticate"}},
		{"auth resource", "auth: {resource: 'https://g.example/mcp?x=1', api_keys: true}\n" + up, []string{"1:18: auth.resource: \"https://g.example/mcp?x=1\" must not have a query"}},
		{"jwt symmetric alg", "auth: {resource: https://g.example/mcp, jwt: {issuer: https://i.example, algorithms: [HS256]}}\n" + up, []string{`1:87: auth.jwt.algorithms[0]: "HS256" is not allowed: asymmetric algorithms only`}},
		{"jwt no issuer", "auth: {resource: https://g.example/mcp, jwt: {clock_skew: 5s}}\n" + up, []string{"1:46: auth.jwt.issuer: required"}},
		{"rule without name and effect", "policy: {rules: [{tools: [x]}]}\n" + up, []string{"1:18: policy.rules[0].name: required", "1:18: policy.rules[0].effect: required"}},
		{"rule effect", "policy: {rules: [{name: r, effect: maybe}]}\n" + up, []string{`1:36: policy.rules[0].effect: "maybe" is not one of allow, deny, require_approval, redact`}},
		{"redact without paths", "policy: {rules: [{name: r, effect: redact}]}\n" + up, []string{"1:18: policy.rules[0].redact: effect redact needs"}},
		{"grant of nothing", "policy: {roles: {dev: [{servers: [a]}]}}\n" + up, []string{"1:24: policy.roles.dev[0]: grants nothing"}},
		{"tag without server", "policy: {tags: {s: [read_file]}}\n" + up, []string{`1:21: policy.tags.s[0]: "read_file" must have the form <server>/<tool>`}},
		{"duplicate rule", "policy: {rules: [{name: r, effect: deny}, {name: r, effect: deny}]}\n" + up, []string{`1:43: policy.rules[1].name: duplicate rule name "r"`}},
		{"tenant name", "upstreams: [{name: a, command: x, tenant: Acme Inc}]\n", []string{`1:43: upstreams[0].tenant: "Acme Inc" must match`}},
		{"credentials on stdio", "upstreams: [{name: a, command: x, credentials: {type: token_exchange}}]\n", []string{"1:35: upstreams[0].credentials: only for streamable_http and sse upstreams"}},
		{"credentials incomplete", "upstreams: [{name: a, url: 'https://u.example/mcp', credentials: {type: client_credentials}}]\n", []string{"1:66: upstreams[0].credentials.token_url: required", "1:66: upstreams[0].credentials.client_id: required", "1:66: upstreams[0].credentials.client_secret: required"}},
		{"token exchange shared", "upstreams: [{name: a, url: 'https://u.example/mcp', sharing: shared, credentials: {type: token_exchange, token_url: 'https://i.example/token', client_id: g, client_secret: {env: S}}}]\n", []string{"1:83: upstreams[0].credentials: token_exchange acts for each caller, so it needs sharing: per_session"}},
		{"credentials and Authorization header", "upstreams: [{name: a, url: 'https://u.example/mcp', headers: {Authorization: x}, credentials: {type: client_credentials, token_url: 'https://i.example/token', client_id: g, client_secret: s}}]\n", []string{"upstreams[0].credentials: headers.Authorization is set too"}},
		{"tls files missing", "listen: {tls: {cert_file: a.pem, key_file: b.pem}}\n" + up, []string{`1:27: listen.tls.cert_file: "a.pem" does not exist`, `1:44: listen.tls.key_file: "b.pem" does not exist`}},
		{"tls file is dir", "listen: {tls: {cert_file: workdir, key_file: key.pem}}\n" + up, []string{`listen.tls.cert_file: "workdir" is a directory`}},
		{"origin wildcard", "listen: {allowed_origins: ['*']}\n" + up, []string{`1:28: listen.allowed_origins[0]: "*": a bare "*"`}},
		{"origin path", "listen: {allowed_origins: ['http://a.b/c']}\n" + up, []string{"listen.allowed_origins[0]"}},
		{"origin ipv6", "listen: {allowed_origins: ['http://[::1']}\n" + up, []string{"unterminated IPv6"}},
		{"origins not list", "listen: {allowed_origins: http://a}\n" + up, []string{`1:27: listen.allowed_origins: must be a list of strings, not "http://a"`}},
		{"size bad unit", "limits: {max_message_bytes: 4mb}\n" + up, []string{`limits.max_message_bytes: invalid size "4mb": unknown unit "mb"`}},
		{"size float", "limits: {max_message_bytes: 1.5}\n" + up, []string{"must be a size"}},
		{"size overflow", "limits: {max_message_bytes: 9999999999TiB}\n" + up, []string{"too large"}},
		{"negative size", "limits: {max_header_bytes: -1KiB}\n" + up, []string{"limits.max_header_bytes: must not be negative"}},
		{"zero count", "limits: {max_sessions: 0}\n" + up, []string{"limits.max_sessions: must be positive"}},
		{"negative count", "limits: {max_pending_requests: -1}\n" + up, []string{"limits.max_pending_requests: must not be negative"}},
		{"count as string", "limits: {max_sessions: '10'}\n" + up, []string{`limits.max_sessions: must be an integer, not "10"`}},
		{"count overflow", "limits: {max_sessions: 99999999999999999999}\n" + up, []string{"limits.max_sessions: must be an integer"}},
		{"duration no unit", "limits: {read_timeout: 30}\n" + up, []string{`limits.read_timeout: duration "30" needs a unit, such as 30s`}},
		{"duration garbage", "limits: {read_timeout: soon}\n" + up, []string{`invalid duration "soon"`}},
		{"duration negative", "limits: {read_timeout: -1s}\n" + up, []string{"limits.read_timeout: must not be negative"}},
		{"duration bool", "limits: {read_timeout: true}\n" + up, []string{"must be a duration"}},
		{"cpus zero", "limits: {cpus: 0}\n" + up, []string{`limits.cpus: must be "auto" or a number of CPUs from 1 to 4096, not 0`}},
		{"cpus huge", "limits: {cpus: 100000}\n" + up, []string{`limits.cpus: must be "auto" or a number of CPUs from 1 to 4096, not 100000`}},
		{"cpus word", "limits: {cpus: all}\n" + up, []string{`limits.cpus: must be "auto" or a number of CPUs, not "all"`}},
		{"cpus float", "limits: {cpus: 1.5}\n" + up, []string{`limits.cpus: must be "auto" or a number of CPUs, not a number (1.5)`}},
		{"log level", "log: {level: WARN}\n" + up, []string{`log.level: "WARN" is not one of debug, info, warn, error; did you mean "warn"?`}},
		{"log format", "log: {format: yaml}\n" + up, []string{`log.format: "yaml" is not one of json, text`}},
		{"empty separator", "gateway: {separator: ''}\n" + up, []string{"gateway.separator: must not be empty"}},
		{"separator space", "gateway: {separator: ' '}\n" + up, []string{"must not contain spaces"}},
		{"name contains separator", "gateway: {separator: '-'}\nupstreams: [{name: my-srv, command: x}]\n", []string{`upstreams[0].name: "my-srv" contains the gateway separator "-"`}},
		{"bad name", "upstreams: [{name: My_Srv, command: x}]\n", []string{`upstreams[0].name: "My_Srv" must match`}},
		{"name leading dash", "upstreams: [{name: -a, command: x}]\n", []string{"must match"}},
		{"duplicate names", "upstreams:\n  - {name: a, command: x}\n  - {name: a, command: y}\n", []string{`3:12: upstreams[1].name: duplicate upstream name "a" (first used at line 2)`}},
		{"upstream not mapping", "upstreams: [a]\n", []string{"1:13: upstreams[0]: must be a mapping"}},
		{"upstreams not list", "upstreams: {name: a}\n", []string{"upstreams: must be a list of upstreams, not a mapping"}},
		{"no transport", "upstreams: [{name: a}]\n", []string{"upstreams[0].transport: required"}},
		{"both command and url", "upstreams: [{name: a, command: x, url: 'http://h'}]\n", []string{"upstreams[0].transport: required"}},
		{"stdio needs command", "upstreams: [{name: a, transport: stdio}]\n", []string{"upstreams[0].command: required for stdio upstreams"}},
		{"http needs url", "upstreams: [{name: a, transport: sse}]\n", []string{"upstreams[0].url: required for sse upstreams"}},
		{"relative url", "upstreams: [{name: a, transport: streamable_http, url: /mcp}]\n", []string{`upstreams[0].url: "/mcp" must be an absolute`}},
		{"url without host", "upstreams: [{name: a, url: 'http:///x'}]\n", []string{"has no host"}},
		{"stdio key on http", "upstreams: [{name: a, url: 'http://h', args: [x]}]\n", []string{"upstreams[0].args: only for stdio upstreams, not streamable_http"}},
		{"http key on stdio", "upstreams: [{name: a, command: x, headers: {A: b}}]\n", []string{"upstreams[0].headers: only for streamable_http and sse upstreams, not stdio"}},
		{"bad sharing", "upstreams: [{name: a, command: x, sharing: per-session}]\n", []string{`did you mean "per_session"?`}},
		{"backoff order", "upstreams: [{name: a, command: x, restart: {initial_backoff: 1m}}]\n", []string{"upstreams[0].restart.max_backoff: 30s is less than initial_backoff 1m0s"}},
		{"backoff zero", "upstreams: [{name: a, command: x, restart: {max_backoff: 0s}}]\n", []string{"upstreams[0].restart.max_backoff: must be positive"}},
		{"secret two keys", "upstreams: [{name: a, command: x, env: {A: {env: B, file: c}}}]\n", []string{"upstreams[0].env.A: a secret reference is exactly {env: NAME} or {file: PATH}; found keys env, file"}},
		{"secret other key", "upstreams: [{name: a, command: x, env: {A: {vault: B}}}]\n", []string{"found keys vault"}},
		{"secret empty env", "upstreams: [{name: a, command: x, env: {A: {env: ''}}}]\n", []string{"upstreams[0].env.A.env: must not be empty"}},
		{"secret missing file", "upstreams: [{name: a, command: x, env: {A: {file: nope.txt}}}]\n", []string{`upstreams[0].env.A.file: "nope.txt" does not exist`}},
		{"secret null", "upstreams: [{name: a, command: x, env: {A: }}]\n", []string{`upstreams[0].env.A: has no value`}},
		{"secret list", "upstreams: [{name: a, command: x, env: {A: [1]}}]\n", []string{"must be a string, {env: NAME} or {file: PATH}, not a list"}},
		{"env bad name", "upstreams: [{name: a, command: x, env: {'A=B': c}}]\n", []string{"not a valid environment variable name"}},
		{"header reserved", "upstreams: [{name: a, url: 'http://h', headers: {mcp-session-id: x}}]\n", []string{"is set by the gateway itself"}},
		{"header dup", "upstreams: [{name: a, url: 'http://h', headers: {X-A: x, x-a: y}}]\n", []string{"upstreams[0].headers.x-a: duplicate name"}},
		{"header bad name", "upstreams: [{name: a, url: 'http://h', headers: {'X A': x}}]\n", []string{"not a valid header name"}},
		{"header newline", "upstreams: [{name: a, url: 'http://h', headers: {X-A: \"a\\nb\"}}]\n", []string{"must not contain line breaks"}},
		{"insecure not bool", "upstreams: [{name: a, url: 'https://h', tls: {insecure_skip_verify: 'true'}}]\n", []string{`insecure_skip_verify: must be true or false, not "true"`}},
		{"tls on http url", "upstreams: [{name: a, url: 'http://h', tls: {server_name: h}}]\n", []string{"upstreams[0].tls: TLS settings need an https:// url"}},
		{"client cert without key", "upstreams: [{name: a, url: 'https://h', tls: {cert_file: cert.pem}}]\n", []string{"upstreams[0].tls.key_file: required when cert_file is set"}},
		{"cwd missing", "upstreams: [{name: a, command: x, cwd: nowhere}]\n", []string{`upstreams[0].cwd: "nowhere" does not exist`}},
		{"cwd is file", "upstreams: [{name: a, command: x, cwd: token.txt}]\n", []string{`"token.txt" is not a directory`}},
		{"two plain upstreams", "upstreams: [{name: a, command: x, namespace: false}, {name: b, command: y, namespace: false}]\n", []string{`upstreams[1].namespace: only one upstream may have namespace: false ("a" already has)`}},
		{"namespace not bool", "upstreams: [{name: a, command: x, namespace: maybe}]\n", []string{`upstreams[0].namespace: must be true or false`}},
		{"allow_methods dup", "upstreams: [{name: a, command: x, allow_methods: [m, m]}]\n", []string{`upstreams[0].allow_methods[1]: "m" is listed twice`}},
		{"args not list", "upstreams: [{name: a, command: x, args: '-y'}]\n", []string{"upstreams[0].args: must be a list of strings"}},
		{"args nested", "upstreams: [{name: a, command: x, args: [[a]]}]\n", []string{"upstreams[0].args[0]: must be a string, not a list"}},
		{"two documents", up + "---\n" + up, []string{"only one YAML document"}},
		{"syntax", "upstreams: [\n", []string{"invalid YAML"}},
		{"tab indent", "upstreams:\n\t- a\n", []string{"invalid YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHere(t, tt.src)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error = %v, want Problems", err)
			}
			if len(ps) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i >= len(ps) {
					break
				}
				got := strings.TrimPrefix(ps[i].Error(), ps[i].File+":")
				if !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
				if ps[i].File != filepath.Join("testdata", "test.yaml") {
					t.Errorf("problem %d file = %q", i, ps[i].File)
				}
			}
		})
	}
}

func TestProblemsFormat(t *testing.T) {
	ps := Problems{
		{File: "g.yaml", Line: 3, Column: 5, Field: "upstreams[1].url", Message: "required"},
		{File: "g.yaml", Line: 7, Message: "invalid YAML: x"},
		{Line: 2, Column: 1, Field: "log", Message: "no file"},
		{Message: "bare"},
	}
	want := "g.yaml:3:5: upstreams[1].url: required\ng.yaml:7: invalid YAML: x\n2:1: log: no file\nbare"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	wrapped := fmt.Errorf("loading: %w", error(ps))
	var back Problems
	if !errors.As(wrapped, &back) || len(back) != 4 {
		t.Errorf("errors.As to Problems failed: %v", back)
	}
	var one *Problem
	if !errors.As(wrapped, &one) || one != ps[0] {
		t.Errorf("errors.As to *Problem = %v", one)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "does-not-exist.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want fs.ErrNotExist", err)
	}
	var ps Problems
	if errors.As(err, &ps) {
		t.Error("a read error should not be Problems")
	}
}

func TestDigest(t *testing.T) {
	path := filepath.Join("testdata", "good-minimal.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, want := c.Digest(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Digest() = %s, want %s", got, want)
	}
	if c.File() != path {
		t.Errorf("File() = %q", c.File())
	}
	if dir, _ := filepath.Abs("testdata"); c.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", c.Dir(), dir)
	}
	// The stored bytes are a copy: changing the caller's slice changes nothing.
	buf := append([]byte(nil), data...)
	c2, err := Parse(buf, path)
	if err != nil {
		t.Fatal(err)
	}
	buf[0] = '#'
	if c2.Digest() != c.Digest() {
		t.Error("Digest changed after the input slice was modified")
	}
}

func TestSize(t *testing.T) {
	good := map[string]Size{
		"0": 0, "512": 512, "512B": 512, "10KB": 10000, "64KiB": 64 << 10, "4MiB": 4 << 20,
		"1GiB": 1 << 30, "2MB": 2000000, "3GB": 3e9, "1TiB": 1 << 40, " 8 KiB ": 8 << 10, "-1KiB": -1024,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "1.5MiB", "4mib", "4Mi", "1 2", "0x10", "99999999999999999999", "9999999TiB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %v, want error", in, got)
		}
	}
	for s, want := range map[Size]string{0: "0B", 1500: "1500B", 4 << 20: "4MiB", 64 << 10: "64KiB", 1 << 30: "1GiB", 3 << 40: "3TiB"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	d, err := ParseDuration("1m30s")
	if err != nil || d.Std() != 90*time.Second || d.String() != "1m30s" {
		t.Errorf("ParseDuration(1m30s) = %v, %v", d, err)
	}
	if d, err := ParseDuration("0"); err != nil || d != 0 {
		t.Errorf("ParseDuration(0) = %v, %v", d, err)
	}
	for _, in := range []string{"", "30", "1.5", "soon", "1d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

func TestSecret(t *testing.T) {
	getenv := func(k string) (string, bool) {
		if k == "SET" {
			return "env-value", true
		}
		return "", false
	}
	tokenPath := filepath.Join("testdata", "token.txt")
	crlf := filepath.Join(t.TempDir(), "crlf")
	if err := os.WriteFile(crlf, []byte("a\nb\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s       Secret
		str     string
		want    string
		wantErr bool
	}{
		{LiteralSecret("hunter2"), `"<literal>"`, "hunter2", false},
		{EnvSecret("SET"), "{env: SET}", "env-value", false},
		{EnvSecret("UNSET"), "{env: UNSET}", "", true},
		{FileSecret(tokenPath), "{file: " + tokenPath + "}", "token-value", false},
		{FileSecret(crlf), "{file: " + crlf + "}", "a\nb", false},
		{FileSecret("testdata/nope"), "{file: testdata/nope}", "", true},
	}
	for _, tt := range tests {
		got, err := tt.s.Resolve(getenv)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%v.Resolve() = %q, %v", tt.s, got, err)
		}
		if tt.s.String() != tt.str {
			t.Errorf("String() = %q, want %q", tt.s.String(), tt.str)
		}
	}
	var notSet *EnvNotSetError
	if _, err := EnvSecret("UNSET").Resolve(getenv); !errors.As(err, &notSet) || notSet.Name != "UNSET" {
		t.Errorf("unset env error = %v", err)
	}
	if _, err := FileSecret("testdata/nope").Resolve(nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error = %v, want fs.ErrNotExist", err)
	}
}

// TestSecretNeverPrinted formats a literal secret, and structures holding one, with every
// common verb and checks the value never appears.
func TestSecretNeverPrinted(t *testing.T) {
	const value = "hunter2-very-secret"
	s := LiteralSecret(value)
	u := Upstream{Name: "a", Env: map[string]Secret{"K": s}, Headers: map[string]Secret{"Authorization": s}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, arg := range []any{s, &s, u, &u, []Secret{s}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, value) || strings.Contains(out, hex.EncodeToString([]byte(value))) {
				t.Errorf("Sprintf(%q, %T) leaked the secret: %s", verb, arg, out)
			}
		}
	}
	if b, _ := s.MarshalText(); strings.Contains(string(b), value) {
		t.Error("MarshalText leaked the secret")
	}
	if strings.Contains(s.LogValue().String(), value) {
		t.Error("LogValue leaked the secret")
	}
}

func TestClosest(t *testing.T) {
	keys := upstreamKeys()
	for in, want := range map[string]string{
		"comand": "command", "URL": "url", "allowMethods": "allow_methods", "trasnport": "transport",
		"requesttimeout": "request_timeout", "zzz": "", "e": "", "nam": "name",
	} {
		if got := closest(in, keys); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}
