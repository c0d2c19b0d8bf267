package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	s, err := parseFlags([]string{"--concurrency", "1, 8,64", "--payloads", "echo", "--duration", "2s"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Concurrency) != 3 || s.Concurrency[1] != 8 || len(s.Payloads) != 1 || s.Duration != 2*time.Second {
		t.Fatalf("%+v", s)
	}
	for _, bad := range [][]string{{"--concurrency", "0"}, {"--payloads", "huge"}, {"--duration", "0s"}, {"extra"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestGatewayConfig(t *testing.T) {
	c := gatewayConfig(8788, 1512, httpUpstreamYAML("http://127.0.0.1:9/mcp"), nil)
	for _, want := range []string{"address: 127.0.0.1:8788", "max_sessions_per_client: 1512", "level: warn", "name: up", "transport: streamable_http", `url: "http://127.0.0.1:9/mcp"`} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	if s := stdioUpstreamYAML("/x y/bench"); !strings.Contains(s, `command: "/x y/bench"`) {
		t.Errorf("stdio: %s", s)
	}
}
