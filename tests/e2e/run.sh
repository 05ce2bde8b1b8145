#!/usr/bin/env bash
# End-to-end tests of collab-bridge (tests/e2e/*.test.js): real PostgreSQL, real bridge processes, real sockets and
# the stock npm clients (sharedb 7, ws 8, ot-text-unicode 4, from package-lock.json).
#
# Needs: build/collab-bridge (make bridge), the extension installed (make install), and a running cluster named by
# PGHOST/PGPORT/PGUSER whose superuser may create the database `e2e` (dropped first) and the role collab_e2e_bridge.
# scripts/test.sh provides all of that (suite `e2e`). Alone:
#   scripts/pg-cluster.sh --name test start && eval "$(scripts/pg-cluster.sh --name test env)" && tests/e2e/run.sh
# Arguments are test files (default: all); E2E_TIMEOUT (seconds, default 600) bounds the whole run; E2E_SEED replays
# the random edits of a run; COLLAB_BRIDGE_BIN tests another binary. Bridge logs: tests/e2e/logs/<file>-<bridge>.log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
bridge=${COLLAB_BRIDGE_BIN:-$repo/build/collab-bridge}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

[[ -x $bridge ]] || die "$bridge not found or not executable: build it first (make bridge)"
"$bridge" --help >/dev/null 2>&1 || die "$bridge --help failed: is the build complete?"
command -v node >/dev/null || die "node not found: run scripts/install-deps.sh"
command -v npm >/dev/null || die "npm not found: run scripts/install-deps.sh"
for v in PGHOST PGPORT PGUSER; do
  [[ -n ${!v:-} ]] || die "$v is not set: point PGHOST/PGPORT/PGUSER at a running cluster (see the top of $0)"
done

# npm ci when node_modules is missing or older than the lock file (npm writes node_modules/.package-lock.json).
installed=$here/node_modules/.package-lock.json
if [[ ! -f $installed || $here/package-lock.json -nt $installed || $here/package.json -nt $installed ]]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi

rm -rf "$here/logs"
mkdir -p "$here/logs"

files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here"/*.test.js)
fi

# One file at a time: the files share the database `e2e` and some restart PostgreSQL. The TAP reporter ends with
# node's summary (# tests, # pass, # fail ...); E2E_REPORTER=spec gives the human-friendly one.
echo "e2e: bridge $bridge; bridge logs in $here/logs/" >&2
rc=0
cd "$repo"
timeout --signal=TERM --kill-after=10 "${E2E_TIMEOUT:-600}" \
  node --test --test-concurrency=1 --test-force-exit --test-reporter="${E2E_REPORTER:-tap}" "${files[@]}" || rc=$?
if ((rc == 124)); then
  echo "error: the e2e run exceeded E2E_TIMEOUT=${E2E_TIMEOUT:-600} s and was stopped" >&2
fi
exit "$rc"
