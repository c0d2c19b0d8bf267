package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestConformance runs the MCP conformance suite's server scenarios against the Go SDK's
// conformance everything-server directly and through Gatehouse (fronting that server as its
// only upstream, with its names kept as they are), and fails unless Gatehouse passes every
// scenario the server passes on its own. Both summaries are printed.
//
//   - 2025: conformance 0.1.x, protocol 2025-11-25, against the session-based server.
//   - 2026: conformance 0.2.0 alpha with --requirements 2026-07-28, against the stateless
//     server (the Go SDK serves that revision only in stateless mode).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite runs take minutes; skipped with -short")
	}
	for _, tc := range []struct {
		suite     string
		stateless bool
	}{
		{"2025", false},
		{"2026", true},
	} {
		t.Run(tc.suite, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			upstream := StartEverythingServer(t, tc.stateless)
			direct := RunConformance(t, ctx, upstream, tc.suite)

			// A second server instance, so that state left by the direct run (subscriptions,
			// counters) cannot help or hurt the gateway run.
			upstream2 := StartEverythingServer(t, tc.stateless)
			gh := StartGatehouse(t, "log: {level: info, format: text}\nupstreams:\n"+
				UpstreamHTTPYAML("conformance", upstream2, "namespace: false"))
			gh.WaitUpstreamsUp(t, 30*time.Second)
			through := RunConformance(t, ctx, gh.URL, tc.suite)

			t.Logf("conformance %s summary, direct:\n%s", tc.suite, summary(direct))
			t.Logf("conformance %s summary, through gatehouse:\n%s", tc.suite, summary(through))
			fmt.Printf("conformance %s: direct %s; through gatehouse %s\n", tc.suite, counts(direct), counts(through))

			passedDirect := 0
			for scenario, verdict := range direct {
				if verdict != ConformancePass {
					continue
				}
				passedDirect++
				if got := through[scenario]; got != ConformancePass {
					t.Errorf("scenario %s passes directly but is %q through gatehouse", scenario, got)
				}
			}
			if passedDirect < 10 {
				t.Fatalf("only %d scenarios pass directly: the suite or the server did not run properly", passedDirect)
			}
		})
	}
}

func summary(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-45s %s\n", k, v[k])
	}
	return b.String()
}

func counts(v map[string]string) string {
	n := map[string]int{}
	for _, s := range v {
		n[s]++
	}
	return fmt.Sprintf("%d pass, %d warn, %d fail, %d skip", n[ConformancePass], n[ConformanceWarn], n[ConformanceFail], n[ConformanceSkip])
}
