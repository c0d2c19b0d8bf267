package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatehouse/internal/app"
)

const scanUsage = `usage: gatehouse scan --config FILE [--format table|json|sarif]
       gatehouse scan [--format ...] --url URL          one Streamable HTTP server
       gatehouse scan [--format ...] -- COMMAND ARGS...  one stdio server
exit status: 0 clean, 1 something to look at (a poisoned definition, shadowing, or a
definition not pinned as approved), 2 usage or connection problems`

// scanCmd runs `gatehouse scan`: an inventory of what the upstreams offer, with pin status,
// poisoning scores, shadowing and risky annotations.
func scanCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file: scan its upstreams, compare with its pins")
	url := fs.String("url", "", "scan one Streamable HTTP server at this URL")
	format := fs.String("format", "table", "table, json or sarif")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on reaching the servers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	command := fs.Args()
	modes := 0
	for _, set := range []bool{*path != "", *url != "", len(command) > 0} {
		if set {
			modes++
		}
	}
	if modes != 1 || (*format != "table" && *format != "json" && *format != "sarif") {
		fmt.Fprintln(stderr, scanUsage)
		return 2
	}
	cfgPath := *path
	if cfgPath == "" {
		dir, err := os.MkdirTemp("", "gatehouse-scan-")
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse scan:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		cfgPath = filepath.Join(dir, "scan.yaml")
		if err := os.WriteFile(cfgPath, []byte(oneServerConfig(*url, command)), 0o600); err != nil {
			fmt.Fprintln(stderr, "gatehouse scan:", err)
			return 2
		}
	}
	cfg, err := app.LoadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, cancel := interruptible(*timeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	rep, err := app.Scan(ctx, cfg, logger, *path != "")
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse scan:", err)
		return 2
	}
	if len(rep.Items) == 0 {
		fmt.Fprintln(stderr, "gatehouse scan: no definitions: is the server reachable?")
		return 2
	}
	switch *format {
	case "json":
		err = rep.WriteJSON(stdout)
	case "sarif":
		err = rep.WriteSARIF(stdout, app.Version, *path)
	default:
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse scan:", err)
		return 2
	}
	if rep.Failing() {
		return 1
	}
	return 0
}

// oneServerConfig is the configuration of a one-off scan: the server named "server", its
// definitions not compared with any pins.
func oneServerConfig(url string, command []string) string {
	var b strings.Builder
	b.WriteString("log: {level: error}\naudit: {enabled: false}\nupstreams:\n  - name: server\n")
	if url != "" {
		fmt.Fprintf(&b, "    transport: streamable_http\n    url: %q\n", url)
		return b.String()
	}
	fmt.Fprintf(&b, "    transport: stdio\n    command: %q\n", command[0])
	// Relative paths in the command line mean the caller's folder, not the scratch config's.
	if wd, err := os.Getwd(); err == nil {
		fmt.Fprintf(&b, "    cwd: %q\n", wd)
	}
	if len(command) > 1 {
		b.WriteString("    args: [")
		for i, a := range command[1:] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", a)
		}
		b.WriteString("]\n")
	}
	// The child gets only what it needs to start: the gateway's secrets stay home.
	b.WriteString("    env:\n      PATH: {env: PATH}\n      HOME: {env: HOME}\n")
	return b.String()
}
