package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/audit"
)

// auditCmd runs `gatehouse audit pubkey|verify|query`.
func auditCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: gatehouse audit pubkey --config FILE\n" +
		"       gatehouse audit verify --config FILE [--pubkey ed25519:KEY] [--checkpoints FILE] [--json]\n" +
		"       gatehouse audit verify --export FILE --pubkey ed25519:KEY [--checkpoints FILE] [--json]\n" +
		"       gatehouse audit export --config FILE [--out FILE]\n" +
		"       gatehouse audit prune  --config FILE --before DURATION|TIME\n" +
		"       gatehouse audit query  --config FILE [--since T] [--until T] [--subject S] [--tenant T] [--server S] [--tool N] [--decision D] [--outcome O] [--kind K] [--limit N] [--format table|jsonl]"
	sub, fs, path, ok := subcommand("audit", use, args, "configuration file", stderr)
	if !ok {
		return 2
	}
	pubkey := fs.String("pubkey", "", "verify: the public key (default: the one in the data directory)")
	cpFile := fs.String("checkpoints", "", "verify: checkpoints kept outside the store (JSON lines)")
	asJSON := fs.Bool("json", false, "verify: print the report as JSON")
	exportFile := fs.String("export", "", "verify: an export (JSON Lines) instead of the configured store")
	outFile := fs.String("out", "", "export: write here instead of standard output")
	before := fs.String("before", "", "prune: remove records older than this (a duration ago, or an RFC 3339 time)")
	var f audit.Filter
	since := fs.String("since", "", "query: RFC 3339 time or a duration ago (24h)")
	until := fs.String("until", "", "query: RFC 3339 time or a duration ago")
	fs.StringVar(&f.Subject, "subject", "", "query: subject")
	fs.StringVar(&f.Tenant, "tenant", "", "query: tenant")
	fs.StringVar(&f.Server, "server", "", "query: upstream server")
	fs.StringVar(&f.Target, "tool", "", "query: tool, prompt or resource")
	fs.StringVar(&f.Decision, "decision", "", "query: allow, deny or require_approval")
	fs.StringVar(&f.Outcome, "outcome", "", "query: result, error, upstream_error or refused")
	fs.StringVar(&f.Kind, "kind", "", "query: request, outcome, server_request or admin")
	fs.IntVar(&f.Limit, "limit", 0, "query: at most this many records")
	format := fs.String("format", "table", "query: table or jsonl")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if sub == "verify" && *exportFile != "" {
		return verifyExport(*exportFile, *pubkey, *cpFile, *asJSON, stdout, stderr)
	}
	cfg, code := configAt(*path, use, stderr)
	if cfg == nil {
		return code
	}
	var err error
	switch sub {
	case "prune":
		cutoff, err := parseWhen(*before)
		if err != nil || cutoff.IsZero() {
			fmt.Fprintln(stderr, "gatehouse audit prune: --before is required (a duration ago such as 2160h, or an RFC 3339 time)")
			return 2
		}
		cfg.Audit.Retention = 0
		st, a, err := app.OpenAudit(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit prune:", err)
			return 1
		}
		defer st.Close()
		defer a.Close()
		n, err := a.Prune(context.Background(), cutoff)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit prune:", err)
			return 1
		}
		fmt.Fprintf(stdout, "pruned %d records of chain %s older than %s\n", n, a.Chain(), cutoff.UTC().Format(time.RFC3339))
		return 0
	case "export":
		st, err := app.OpenStore(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit export:", err)
			return 1
		}
		defer st.Close()
		var w io.Writer = stdout
		if *outFile != "" {
			f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				fmt.Fprintln(stderr, "gatehouse audit export:", err)
				return 1
			}
			defer f.Close()
			w = f
		}
		if err := audit.Export(context.Background(), st, w); err != nil {
			fmt.Fprintln(stderr, "gatehouse audit export:", err)
			return 1
		}
		return 0
	case "pubkey":
		pub, err := app.SigningPublicKey(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit pubkey:", err)
			return 1
		}
		fmt.Fprintln(stdout, audit.PublicKeyString(pub))
		return 0
	case "verify":
		var pub ed25519.PublicKey
		if *pubkey != "" {
			pub, err = audit.ParsePublicKey(*pubkey)
		} else {
			pub, err = app.SigningPublicKey(cfg)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit verify:", err)
			return 2
		}
		extra, err := readCheckpointFile(*cpFile)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit verify:", err)
			return 1
		}
		st, err := app.OpenStore(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit verify:", err)
			return 1
		}
		defer st.Close()
		return report(st, pub, extra, *asJSON, stdout, stderr)
	case "query":
		if f.Since, err = parseWhen(*since); err == nil {
			f.Until, err = parseWhen(*until)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit query:", err)
			return 2
		}
		st, err := app.OpenStore(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit query:", err)
			return 1
		}
		defer st.Close()
		var tw *tabwriter.Writer
		enc := json.NewEncoder(stdout)
		if *format == "table" {
			tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tCHAIN\tSEQ\tKIND\tSUBJECT\tTENANT\tMETHOD\tSERVER\tTARGET\tDECISION\tOUTCOME\tRULES")
		}
		err = st.Query(context.Background(), f, func(r *audit.Record) error {
			if tw == nil {
				return enc.Encode(r)
			}
			target := r.Target
			if r.Kind == audit.KindAdmin {
				target = r.Event
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339), r.Chain, r.Seq, r.Kind, r.Subject, r.Tenant,
				r.Method, r.Server, target, r.Decision, r.Outcome, strings.Join(r.Rules, ","))
			return err
		})
		if tw != nil {
			tw.Flush()
		}
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse audit query:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(stderr, use)
	return 2
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// adminRecord writes an administrative event to the configuration's audit trail, if on.
func adminRecord(cfgPath, event string, detail any, stderr io.Writer) error {
	cfg, err := app.LoadConfig(cfgPath)
	if err != nil || !cfg.Audit.Enabled {
		return err
	}
	cfg.Audit.Retention = 0 // retention is the gateway's to run
	// The store serialises writers of one chain (the head is read inside each write), so
	// the CLI appends to the gateway's chain even while the gateway runs.
	st, a, err := app.OpenAudit(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer st.Close()
	defer a.Close()
	who := "cli"
	if u := os.Getenv("USER"); u != "" {
		who = "cli:" + u
	}
	return app.AdminRecord(a, who, event, detail)
}

func verifyExport(file, pubkey, cpFile string, asJSON bool, stdout, stderr io.Writer) int {
	if pubkey == "" {
		fmt.Fprintln(stderr, "gatehouse audit verify --export: --pubkey is required (gatehouse audit pubkey prints it)")
		return 2
	}
	pub, err := audit.ParsePublicKey(pubkey)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return 2
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return 1
	}
	mem, err := audit.ReadExport(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return 1
	}
	extra, err := readCheckpointFile(cpFile)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return 1
	}
	return report(mem, pub, extra, asJSON, stdout, stderr)
}

// report verifies st and prints the result; exit 1 if any chain failed.
func report(st audit.Store, pub ed25519.PublicKey, extra []audit.Checkpoint, asJSON bool, stdout, stderr io.Writer) int {
	reps, err := audit.Verify(context.Background(), st, pub, extra)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return 1
	}
	bad := 0
	for _, r := range reps {
		if !r.OK {
			bad++
		}
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(reps)
	} else {
		for _, r := range reps {
			if r.OK {
				fmt.Fprintf(stdout, "chain %s: ok, %d records (1..%d), %d checkpoints, signed up to %d\n", r.Chain, r.Records, r.LastSeq, r.Checkpoints, r.SignedUpTo)
			} else {
				fmt.Fprintf(stdout, "chain %s: FAILED at record %d: %s\n", r.Chain, r.BadSeq, r.Problem)
			}
		}
		if len(reps) == 0 {
			fmt.Fprintln(stdout, "no records")
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}

// readCheckpointFile reads the external checkpoint file ("" means none).
func readCheckpointFile(path string) ([]audit.Checkpoint, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return audit.ReadCheckpoints(f)
}
