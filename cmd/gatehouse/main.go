// Command gatehouse is a security gateway for the Model Context Protocol.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/config"
	"gatehouse/internal/pollfd"
)

const usage = `gatehouse: a security gateway for the Model Context Protocol

Usage:
  gatehouse serve    --config FILE   run the gateway as an HTTP service (Streamable HTTP)
  gatehouse stdio    --config FILE   run the gateway as a stdio MCP server (for MCP client configs)
                     [--watch-config 2s]  reload when the file changes (0: only on SIGHUP)
  gatehouse validate --config FILE   check a configuration; every problem is reported
  gatehouse policy test FILE...      run policy test cases (identity + request -> expected decision)
  gatehouse keys create|list|revoke  manage API keys (see gatehouse keys)
  gatehouse audit pubkey|verify|query  the audit trail (see gatehouse audit)
  gatehouse inspect score|eval|train  content inspection (see gatehouse inspect)
  gatehouse pin --config FILE        write the lock file from what the upstreams offer now
  gatehouse pins list|diff|approve|reject --config FILE  pinned definitions and pending changes
  gatehouse scan --config FILE | --url URL | -- COMMAND ARGS  inventory: pins, poisoning, shadowing, risk
  gatehouse version                  print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stderr)
	case "stdio":
		return stdio(rest, stdin, stdout, stderr)
	case "validate":
		return validate(rest, stdout, stderr)
	case "policy":
		return policyCmd(rest, stdout, stderr)
	case "keys":
		return keysCmd(rest, stdout, stderr)
	case "audit":
		return auditCmd(rest, stdout, stderr)
	case "inspect":
		return inspectCmd(rest, stdin, stdout, stderr)
	case "pin":
		return pinCmd(rest, stdout, stderr)
	case "pins":
		return pinsCmd(rest, stdout, stderr)
	case "scan":
		return scanCmd(rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "gatehouse", app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// load parses the common flags and the configuration.
func load(name string, args []string, stderr io.Writer) (*config.Config, int) {
	cfg, _, code := loadWatch(name, args, stderr, false)
	return cfg, code
}

// loadWatch is load for the commands that serve: they also take --watch-config.
func loadWatch(name string, args []string, stderr io.Writer, serving bool) (*config.Config, serveFlags, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	var sf serveFlags
	if serving {
		fs.DurationVar(&sf.watch, "watch-config", 2*time.Second, "how often to check the configuration file for changes (0: only on SIGHUP)")
		fs.StringVar(&sf.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (for performance work; read it with go tool pprof)")
	}
	if err := fs.Parse(args); err != nil {
		return nil, sf, 2
	}
	if *path == "" {
		fmt.Fprintf(stderr, "gatehouse %s: --config FILE is required\n", name)
		return nil, sf, 2
	}
	cfg, err := app.LoadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, sf, 1
	}
	return cfg, sf, 0
}

// serveFlags are the flags of the commands that serve, beside --config.
type serveFlags struct {
	watch      time.Duration
	cpuProfile string
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func validate(args []string, stdout, stderr io.Writer) int {
	cfg, code := load("validate", args, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: ok (%d upstreams, digest %s)\n", cfg.File(), len(cfg.Upstreams), cfg.Digest()[:12])
	return 0
}

// start loads the configuration, builds the gateway and connects its upstreams. The caller
// must call stop when done.
func start(name string, args []string, stderr io.Writer) (a *app.App, cfg *config.Config, logger *slog.Logger, ctx context.Context, stop func(), code int) {
	cfg, sf, code := loadWatch(name, args, stderr, true)
	if cfg == nil {
		return nil, nil, nil, nil, nil, code
	}
	stopProfile := func() {}
	if sf.cpuProfile != "" {
		f, err := os.Create(sf.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse %s: --cpuprofile: %v\n", name, err)
			return nil, nil, nil, nil, nil, 1
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	// Logs go to stderr only: in stdio mode stdout carries the protocol.
	logger = newLogger(cfg, stderr)
	a, err := app.New(cfg, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		stopProfile()
		return nil, nil, nil, nil, nil, 1
	}
	// Loading the detectors (the gitleaks rule set is parsed from TOML and its expressions
	// compiled) leaves tens of MiB of garbage behind; give those pages back now rather than
	// whenever the scavenger gets to them, so a long-running gateway's RSS is what it uses.
	debug.FreeOSMemory()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a.Start()
	// Reloads: on SIGHUP, and when the file changes.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading the configuration")
				a.Reload()
			}
		}
	}()
	if sf.watch > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); a.WatchConfig(ctx, sf.watch) }()
	}
	return a, cfg, logger, ctx, func() { cancel(); signal.Stop(hup); wg.Wait(); a.Close(); stopProfile() }, 0
}

func serve(args []string, stderr io.Writer) int {
	a, cfg, logger, ctx, stop, code := start("serve", args, stderr)
	if a == nil {
		return code
	}
	defer stop()
	err := a.ServeHTTP(ctx, func(addr net.Addr) {
		logger.Info("gatehouse listening", "addr", addr.String(), "path", cfg.Listen.Path, "tls", cfg.Listen.TLS.Enabled(), "config", cfg.File(), "config_digest", cfg.Digest())
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("server stopped", "err", err)
		return 1
	}
	logger.Info("gatehouse stopped")
	return 0
}

func stdio(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, _, logger, ctx, stop, code := start("stdio", args, stderr)
	if a == nil {
		return code
	}
	defer stop()
	// The client's pipes are read and written through the poller (package pollfd: a
	// blocking read on stdin can hold up the runtime's stop for a collection).
	if f, ok := stdin.(*os.File); ok {
		p, restore := pollfd.Pollable(f)
		defer restore()
		stdin = p
	}
	if f, ok := stdout.(*os.File); ok {
		p, restore := pollfd.Pollable(f)
		defer restore()
		stdout = p
	}
	if err := a.ServeStdio(ctx, stdin, stdout); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("stdio session ended", "err", err)
		return 1
	}
	return 0
}
