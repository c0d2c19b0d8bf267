#!/usr/bin/env bash
# scripts/test.sh — the one test command (README): installs the npm test peers and the
# PostgreSQL server package, vets, checks formatting and runs every Go test. Needs Go and
# Node 20+ with npm on PATH, and apt-get (root or sudo) if PostgreSQL is not installed.
#
# Environment:
#   GO_TEST_TIMEOUT   go test -timeout (default 30m)
#   GO_TEST_FLAGS     extra flags for go test (e.g. "-v -run TestX"); word-split
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "test.sh: '$1' not found on PATH: $2" >&2
		exit 1
	fi
}
need go "install Go (see go.mod for the version)"
need node "install Node.js 20 or newer (Debian: apt-get install nodejs npm)"
need npm "install npm (Debian: apt-get install npm)"

# 1. npm peers for the end-to-end tests, skipped when node_modules matches the lock file.
peers="$root/e2e/peers"
stamp="$peers/node_modules/.gatehouse-lock.sha256"
want=$(sha256sum "$peers/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "==> npm ci (skipped: node_modules matches package-lock.json)"
else
	echo "==> npm ci in e2e/peers"
	(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
fi

# 2. PostgreSQL server binaries for the audit store's tests (each test runs its own throwaway
# cluster on 127.0.0.1; nothing is started here). Debian/Ubuntu: apt-get install postgresql.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo "==> apt-get install postgresql"
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
export GATEHOUSE_REQUIRE_POSTGRES=1 # a missing server fails the tests instead of skipping them

# 3. go vet
echo "==> go vet ./..."
go vet ./...

# 4. gofmt
echo "==> gofmt check"
unformatted=$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.git/*' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
	echo "test.sh: these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi

# 5. go test (output goes straight to stdout so its closing lines are the last ones printed).
# -count=1: the end-to-end tests run child processes (npm peers, binaries built with go build)
# whose inputs the test cache cannot see, so a cached pass could hide a regression.
echo "==> go test ./..."
# shellcheck disable=SC2086
go test -count=1 -timeout "${GO_TEST_TIMEOUT:-30m}" ${GO_TEST_FLAGS:-} ./...
