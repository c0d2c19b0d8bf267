#!/usr/bin/env bash
# scripts/quickstart.sh — the README's "run it" command: installs the npm MCP servers from the
# committed lock file, builds gatehouse, and serves examples/quickstart.yaml on
# http://127.0.0.1:8787/mcp until interrupted. Needs Go and Node 20+ with npm on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
peers="$root/e2e/peers"
stamp="$peers/node_modules/.gatehouse-lock.sha256"
want=$(sha256sum "$peers/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "==> npm ci in e2e/peers" >&2
	(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
fi
echo "==> go build ./cmd/gatehouse" >&2
mkdir -p bin
go build -o bin/gatehouse ./cmd/gatehouse
bin/gatehouse validate --config examples/quickstart.yaml >&2
echo "==> serving on http://127.0.0.1:8787/mcp (Ctrl-C to stop)" >&2
exec bin/gatehouse serve --config examples/quickstart.yaml "$@"
