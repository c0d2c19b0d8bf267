package config_test

import (
	"errors"
	"fmt"

	"gatehouse/internal/config"
)

func ExampleParse() {
	cfg, err := config.Parse([]byte(`
upstreams:
  - name: everything
    command: npx
    args: ["-y", "@modelcontextprotocol/server-everything"]
    env:
      PATH: {env: PATH}
  - name: remote
    transport: streamable_http
    url: https://mcp.example.com/mcp
    headers:
      Authorization: {env: REMOTE_MCP_TOKEN}
`), "gatehouse.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Listen.Address, cfg.Listen.Path, cfg.Limits.MaxMessageBytes)
	for _, u := range cfg.Upstreams {
		fmt.Println(u.Name, u.Transport, u.Sharing, u.RequestTimeout)
	}
	fmt.Println(cfg.Upstreams[1].Headers["Authorization"])
	// Output:
	// 127.0.0.1:8787 /mcp 4MiB
	// everything stdio shared 2m0s
	// remote streamable_http per_session 2m0s
	// {env: REMOTE_MCP_TOKEN}
}

func ExampleProblems() {
	_, err := config.Parse([]byte(`
listen:
  adress: 0.0.0.0:8787
log:
  level: verbose
upstreams:
  - name: files
    transport: stdio
  - name: files
    url: ftp://example.com/mcp
`), "gatehouse.yaml")
	fmt.Println(err)

	var problems config.Problems
	if errors.As(err, &problems) {
		fmt.Println(len(problems), "problems; the first is in", problems[0].Field)
	}
	// Output:
	// gatehouse.yaml:3:3: listen.adress: unknown key; did you mean "address"?
	// gatehouse.yaml:5:10: log.level: "verbose" is not one of debug, info, warn, error
	// gatehouse.yaml:7:5: upstreams[0].command: required for stdio upstreams
	// gatehouse.yaml:9:11: upstreams[1].name: duplicate upstream name "files" (first used at line 7)
	// gatehouse.yaml:10:10: upstreams[1].url: "ftp://example.com/mcp" must be an absolute http:// or https:// URL
	// 5 problems; the first is in listen.adress
}

func ExampleSecret_Resolve() {
	token := config.EnvSecret("API_TOKEN")
	getenv := func(name string) (string, bool) {
		if name == "API_TOKEN" {
			return "s3cr3t", true
		}
		return "", false
	}
	v, err := token.Resolve(getenv)
	fmt.Println(token, len(v), err)
	fmt.Println(config.LiteralSecret("s3cr3t"))
	// Output:
	// {env: API_TOKEN} 6 <nil>
	// "<literal>"
}
