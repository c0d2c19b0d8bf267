// Command gatehouse-bench is Gatehouse's load tool. In one run it measures an MCP upstream
// directly and the same upstream through the real `gatehouse serve` binary, side by side:
// throughput, latency, the gateway's CPU time per call and its memory, and the gateway's memory
// with many idle sessions.
//
//	gatehouse-bench [run] [flags]          the benchmark (see -h)
//	gatehouse-bench upstream --addr ADDR   the reference upstream over Streamable HTTP
//	gatehouse-bench upstream --stdio       the reference upstream over stdio
//	gatehouse-bench relay --to HOST:PORT   a raw TCP relay to the upstream (the floor)
//
// The upstream is this binary itself (Go SDK server, session-based Streamable HTTP, tools echo
// and blob); the gateway is a child process, so that its CPU time and RSS can be read from
// /proc. Everything binds to 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gatehouse/internal/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "upstream":
			return upstreamCmd(args[1:], stdout, stderr)
		case "relay":
			return relayCmd(args[1:], stdout, stderr)
		case "run":
			args = args[1:]
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	return benchCmd(args, stdout, stderr)
}

const usage = `gatehouse-bench: direct vs. through Gatehouse, side by side

Usage:
  gatehouse-bench [run] [flags]            run the benchmark (flags: gatehouse-bench run -h)
  gatehouse-bench upstream --addr ADDR     serve the reference MCP upstream over Streamable HTTP
  gatehouse-bench upstream --stdio         serve the reference MCP upstream over stdio
  gatehouse-bench relay --to HOST:PORT     a raw TCP relay: the floor cost of one extra hop
`

// loopback reports whether addr is a loopback host:port: the tool's servers bind nowhere else.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && (host == "127.0.0.1" || host == "localhost" || host == "::1")
}

func relayCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	to := fs.String("to", "", "upstream host:port (loopback)")
	userCopy := fs.Bool("copy", false, "copy every byte through the relay's own buffer instead of letting the kernel move it (splice)")
	durable := fs.String("durable", "", "also keep a durable log in this file (group-committed, fdatasync): each client chunk, forwarded only once durable, and the SHA-256 of each upstream chunk: the floor under an audit record")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !loopback(*addr) || !loopback(*to) {
		fmt.Fprintln(stderr, "relay: --addr and --to must be loopback host:port")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "relay:", err)
		return 1
	}
	var log *bench.DurableLog
	if *durable != "" {
		if log, err = bench.OpenDurableLog(*durable, 64<<20); err != nil {
			ln.Close()
			fmt.Fprintln(stderr, "relay:", err)
			return 1
		}
		defer log.Close()
	}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	if err := bench.Relay(ctx, ln, *to, *userCopy, log); err != nil {
		fmt.Fprintln(stderr, "relay:", err)
		return 1
	}
	return 0
}

func upstreamCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	stdio := fs.Bool("stdio", false, "serve on stdin/stdout instead of HTTP")
	jsonResp := fs.Bool("json-response", false, "answer POSTs with application/json instead of text/event-stream")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdio {
		if err := bench.ServeStdioUpstream(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, "upstream:", err)
			return 1
		}
		return 0
	}
	if !loopback(*addr) {
		fmt.Fprintln(stderr, "upstream: --addr must be a loopback host:port")
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "upstream:", err)
		return 1
	}
	srv := &http.Server{Handler: bench.NewUpstreamHandler("/mcp", nil, *jsonResp), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening http://%s/mcp\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(stderr, "upstream:", err)
		return 1
	}
	return 0
}
