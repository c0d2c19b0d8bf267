package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/config"
	"gatehouse/internal/inspect"
	"gatehouse/internal/inspect/devdata"
	"gatehouse/internal/inspect/injection"
)

const inspectUsage = `usage:
  gatehouse inspect score [--kind result|description|argument] [--config FILE]
      reads JSON Lines {"text": "..."} on stdin, writes one verdict per line:
      {"injection": 0..1, "flagged": bool, "findings": [{"type","rule","start","end"}]}
      (offsets in code points of the text)
  gatehouse inspect eval [--data DIR] [--folds 5] [--shipped]
      the detector over the development data: per file and attack style, precision,
      recall, F1, false-positive rate, recall at 1% FPR, latency per KiB
  gatehouse inspect train [--data DIR] [--out FILE]
      reproduce the embedded injection weights from the development data
`

func inspectCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, inspectUsage)
		return 2
	}
	switch args[0] {
	case "score":
		return inspectScore(args[1:], stdin, stdout, stderr)
	case "eval":
		return inspectEval(args[1:], stdout, stderr)
	case "train":
		return inspectTrain(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, inspectUsage)
	return 2
}

func inspectScore(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kindName := fs.String("kind", "result", "what the texts are: result, description or argument")
	cfgPath := fs.String("config", "", "take the inspection settings from this configuration (default: the embedded defaults)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	kind, ok := injection.ParseKind(*kindName)
	if !ok {
		fmt.Fprintf(stderr, "gatehouse inspect score: --kind must be result, description or argument, not %q\n", *kindName)
		return 2
	}
	ins := config.DefaultInspection()
	if *cfgPath != "" {
		cfg, err := app.LoadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		ins = cfg.Inspection
		ins.Enabled = true
	}
	eng, _, err := app.Inspector(ins)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse inspect score:", err)
		return 1
	}
	if err := eng.Score(context.Background(), stdin, stdout, kind); err != nil {
		fmt.Fprintln(stderr, "gatehouse inspect score:", err)
		return 1
	}
	return 0
}

func loadCorpus(dir string, stderr io.Writer) ([]devdata.Doc, int) {
	docs, err := devdata.Corpus(dir)
	if errors.Is(err, devdata.ErrMissing) {
		fmt.Fprintln(stderr, "gatehouse inspect:", err)
		return nil, 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse inspect:", err)
		return nil, 1
	}
	return docs, 0
}

func inspectEval(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", devdata.DefaultDir, "the development data folder")
	folds := fs.Int("folds", 5, "cross-validation folds, split by template group")
	shipped := fs.Bool("shipped", false, "also evaluate the embedded weights (trained on this data: in-sample figures)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	docs, code := loadCorpus(*dir, stderr)
	if docs == nil {
		return code
	}
	// Latency is the whole inspection a result gets in the gateway (every detector), with
	// the shipped engine, one text at a time on one goroutine.
	eng, _, err := app.Inspector(config.DefaultInspection())
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse inspect eval:", err)
		return 1
	}
	ctx := context.Background()
	shippedRes := make([]devdata.Scored, len(docs))
	for i, d := range docs {
		start := time.Now()
		rep := eng.Inspect(ctx, d.Text, inspect.KindResult)
		shippedRes[i] = devdata.Scored{Score: rep.Injection, Flagged: rep.Flagged, Took: time.Since(start)}
	}
	th, cv := devdata.CrossValidated(docs, *folds)
	for i := range cv {
		cv[i].Took = shippedRes[i].Took
	}
	rep := devdata.Evaluate(fmt.Sprintf("%d-fold cross-validation, folds by template group (user task, injection task, attack category, framing); rules + model", *folds), th, docs, cv)
	if err := rep.Write(stdout); err != nil {
		return 1
	}
	if *shipped {
		det, _ := injection.Default()
		fmt.Fprintln(stdout)
		rep := devdata.Evaluate("embedded weights (in-sample: trained on these files)", det.Threshold, docs, shippedRes)
		if err := rep.Write(stdout); err != nil {
			return 1
		}
	}
	return 0
}

func inspectTrain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", devdata.DefaultDir, "the development data folder")
	out := fs.String("out", "internal/inspect/injection/weights.bin", "where to write the weights")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	docs, code := loadCorpus(*dir, stderr)
	if docs == nil {
		return code
	}
	m, _ := devdata.Build(docs, devdata.Folds, injection.TrainOptions{})
	b, err := m.MarshalBinary()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse inspect train:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d docs, operating point %.4f\n", *out, len(docs), m.Threshold)
	return 0
}
