package main

import (
	"flag"
	"fmt"
	"io"

	"gatehouse/internal/app"
	"gatehouse/internal/policy"
)

// policyCmd runs `gatehouse policy test FILE...`: each file names a configuration and lists
// cases (identity + request → expected decision). Output reads like a test runner's.
func policyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "usage: gatehouse policy test [-v] FILE...")
		return 2
	}
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print every case, not only failures")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: gatehouse policy test [-v] FILE...")
		return 2
	}
	total, failed, broken := 0, 0, 0
	for _, path := range fs.Args() {
		cf, err := policy.LoadCases(path)
		if err != nil {
			fmt.Fprintln(stdout, err)
			broken++
			continue
		}
		cfg, err := app.LoadConfig(cf.Config)
		if err != nil {
			fmt.Fprintf(stdout, "%s: config %s:\n%v\n", path, cf.Config, err)
			broken++
			continue
		}
		pol, err := app.CompilePolicy(cfg)
		if err != nil {
			fmt.Fprintf(stdout, "%s: policy: %v\n", path, err)
			broken++
			continue
		}
		for i := range cf.Cases {
			c := &cf.Cases[i]
			r := pol.Run(c)
			total++
			if len(r.Failures) == 0 {
				if *verbose {
					fmt.Fprintf(stdout, "--- PASS: %s (%s)\n", c.Name, r.Decision.Describe())
				}
				continue
			}
			failed++
			fmt.Fprintf(stdout, "--- FAIL: %s (%s:%d)\n", c.Name, path, c.Line)
			for _, f := range r.Failures {
				fmt.Fprintf(stdout, "    %s\n", f)
			}
		}
	}
	switch {
	case broken > 0:
		fmt.Fprintf(stdout, "FAIL: %d file(s) could not be run; %d of %d cases failed\n", broken, failed, total)
		return 1
	case failed > 0:
		fmt.Fprintf(stdout, "FAIL: %d of %d cases failed\n", failed, total)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d cases passed\n", total)
	return 0
}
