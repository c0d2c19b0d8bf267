package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/config"
	"gatehouse/internal/integrity"
)

// pinCmd runs `gatehouse pin --config FILE`: it lists what the configured upstreams offer
// now and writes the lock file (integrity.lock_file) for review.
func pinCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file")
	out := fs.String("out", "", "where to write the lock file (default: integrity.lock_file)")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on reaching the upstreams")
	const use = "usage: gatehouse pin --config FILE [--out FILE]"
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(stderr, use)
		return 2
	}
	cfg, code := configAt(*path, use, stderr)
	if cfg == nil {
		return code
	}
	ctx, cancel := interruptible(*timeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pins, err := app.PinLive(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse pin:", err)
		return 1
	}
	dest := cfg.Integrity.LockFile
	if *out != "" {
		dest = *out
	}
	if err := integrity.WriteLock(dest, pins); err != nil {
		fmt.Fprintln(stderr, "gatehouse pin:", err)
		return 1
	}
	servers := map[string]int{}
	for k := range pins {
		servers[strings.SplitN(k, "/", 2)[0]]++
	}
	names := make([]string, 0, len(servers))
	for s := range servers {
		names = append(names, s)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "wrote %s: %d definitions", dest, len(pins))
	for _, s := range names {
		fmt.Fprintf(stdout, ", %s %d", s, servers[s])
	}
	fmt.Fprintln(stdout)
	if len(pins) == 0 {
		fmt.Fprintln(stderr, "gatehouse pin: no definitions: are the upstreams reachable?")
		return 1
	}
	return 0
}

// pinsCmd runs `gatehouse pins list|diff|approve|reject`.
func pinsCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: gatehouse pins list    --config FILE\n" +
		"       gatehouse pins diff    --config FILE [KEY...]\n" +
		"       gatehouse pins approve --config FILE (KEY... | --all)\n" +
		"       gatehouse pins reject  --config FILE (KEY... | --all)\n" +
		"KEY is server/kind/name as diff shows it, e.g. files/tool/read_file"
	sub, fs, path, ok := subcommand("pins", use, args, "configuration file", stderr)
	if !ok {
		return 2
	}
	all := fs.Bool("all", false, "every pending definition (approve, reject)")
	if err := fs.Parse(args[1:]); err != nil {
		fmt.Fprintln(stderr, use)
		return 2
	}
	cfg, code := configAt(*path, use, stderr)
	if cfg == nil {
		return code
	}
	st, err := app.OpenPins(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse pins:", err)
		return 1
	}
	if st == nil {
		fmt.Fprintln(stderr, "gatehouse pins: integrity.mode is off in this configuration")
		return 1
	}
	keys := fs.Args()
	switch sub {
	case "list":
		pins := st.Pins()
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tSTATE\tDIGEST\tSINCE")
		sorted := make([]string, 0, len(pins))
		for k := range pins {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			fmt.Fprintf(tw, "%s\tpinned\t%s\t%s\n", k, short(pins[k].Digest), pins[k].Since.UTC().Format(time.RFC3339))
		}
		for _, p := range st.PendingItems() {
			fmt.Fprintf(tw, "%s\tpending (%s)\t%s\t%s\n", p.Key, p.Reason, short(p.Digest), p.Seen.UTC().Format(time.RFC3339))
		}
		tw.Flush()
		return 0
	case "diff":
		items := st.PendingItems()
		if len(items) == 0 {
			fmt.Fprintln(stdout, "nothing is pending")
			return 0
		}
		for _, it := range items {
			if len(keys) > 0 && !slices.Contains(keys, it.Key) {
				continue
			}
			was := "(not pinned)"
			if it.Old != nil {
				was = short(it.Old.Digest)
			}
			fmt.Fprintf(stdout, "%s: %s, seen %s\n  pinned %s, offered %s\n%s\n", it.Key, it.Reason, it.Seen.UTC().Format(time.RFC3339), was, short(it.Digest), indentLines(it.DiffText(), "  "))
		}
		return 0
	case "approve", "reject":
		if len(keys) == 0 && !*all {
			fmt.Fprintln(stderr, "gatehouse pins "+sub+": name the keys (see gatehouse pins diff) or pass --all")
			return 2
		}
		var done []integrity.PendingItem
		if sub == "approve" {
			done, err = st.Approve(keys, time.Now())
		} else {
			done, err = st.Reject(keys)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse pins "+sub+":", err)
			return 1
		}
		past := map[string]string{"approve": "approved", "reject": "rejected"}[sub]
		for _, it := range done {
			fmt.Fprintf(stdout, "%s %s (%s)\n", past, it.Key, short(it.Digest))
			if err := adminRecord(*path, "definition_"+past, map[string]any{"key": it.Key, "digest": it.Digest, "reason": it.Reason}, stderr); err != nil {
				fmt.Fprintf(stderr, "gatehouse pins %s: %s was %s, but its audit record could not be written: %v\n", sub, it.Key, past, err)
				return 1
			}
		}
		if len(done) == 0 {
			fmt.Fprintln(stdout, "nothing was pending")
		}
		return 0
	}
	fmt.Fprintln(stderr, use)
	return 2
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// interruptible is a context for a command that reaches upstreams: ended by Ctrl-C or after
// timeout.
func interruptible(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

// configAt loads the configuration a command's --config names: exit code 2 with the usage
// when it names none, 1 with every problem when it does not load.
func configAt(path, use string, stderr io.Writer) (*config.Config, int) {
	if path == "" {
		fmt.Fprintln(stderr, use)
		return nil, 2
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, 1
	}
	return cfg, 0
}

// subcommand starts a command with subcommands (`gatehouse GROUP SUB --config FILE ...`): it
// names the subcommand and returns its flag set with --config defined; ok is false (usage
// printed) when no subcommand was given.
func subcommand(group, use string, args []string, configHelp string, stderr io.Writer) (sub string, fs *flag.FlagSet, path *string, ok bool) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return "", nil, nil, false
	}
	sub = args[0]
	fs = flag.NewFlagSet(group+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return sub, fs, fs.String("config", "", configHelp), true
}
