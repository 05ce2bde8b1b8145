#!/usr/bin/env bash
# Browser tests of the web editor (tests/browser/*.test.js): the page of web/dist served by a real collab-bridge,
# driven by Playwright (playwright-core, from package-lock.json) in Debian's chromium, two users in separate browser
# contexts, a real PostgreSQL.
#
# Needs: build/collab-bridge (make bridge), web/dist (make web), the extension installed (make install), chromium
# (/usr/bin/chromium; apt-get install chromium, which scripts/install-deps.sh does), and a running cluster named by
# PGHOST/PGPORT/PGUSER whose superuser may create the database `browser` (dropped first) and the role
# collab_e2e_bridge. scripts/test.sh provides all of that (suite `browser`). Alone:
#   scripts/pg-cluster.sh --name test start && eval "$(scripts/pg-cluster.sh --name test env)" && tests/browser/run.sh
# Arguments are test files (default: all); BROWSER_TIMEOUT (seconds, default 300) bounds the whole run; CHROMIUM
# names another Chromium binary; COLLAB_BRIDGE_BIN tests another bridge. Screenshots: tests/browser/artifacts/;
# bridge logs: tests/browser/logs/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
bridge=${COLLAB_BRIDGE_BIN:-$repo/build/collab-bridge}
chromium=${CHROMIUM:-/usr/bin/chromium}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

[[ -x $bridge ]] || die "$bridge not found or not executable: build it first (make bridge)"
bridge_help=$("$bridge" --help 2>&1) || die "$bridge --help failed: is the build complete?"
[[ $bridge_help == *--web-root* ]] || die "$bridge has no --web-root: rebuild it (make bridge)"
[[ -f $repo/web/dist/index.html ]] || die "web/dist/index.html not found: build the page first (make web)"
[[ -x $chromium ]] || die "$chromium not found: install it (apt-get install chromium, or run scripts/install-deps.sh)"
command -v node >/dev/null || die "node not found: run scripts/install-deps.sh"
command -v npm >/dev/null || die "npm not found: run scripts/install-deps.sh"
for v in PGHOST PGPORT PGUSER; do
  [[ -n ${!v:-} ]] || die "$v is not set: point PGHOST/PGPORT/PGUSER at a running cluster (see the top of $0)"
done

# npm ci when node_modules is missing or older than the lock file (npm writes node_modules/.package-lock.json),
# here and in tests/e2e, whose harness (database and bridge processes) these tests use.
for dir in "$here" "$repo/tests/e2e"; do
  installed=$dir/node_modules/.package-lock.json
  if [[ ! -f $installed || $dir/package-lock.json -nt $installed || $dir/package.json -nt $installed ]]; then
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
done

rm -rf "$here/logs" "$here/artifacts"
mkdir -p "$here/logs" "$here/artifacts"

files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here"/*.test.js)
fi

# One file at a time: the files share the database `browser`.
echo "browser: bridge $bridge, chromium $chromium; screenshots in $here/artifacts/, bridge logs in $here/logs/" >&2
rc=0
cd "$repo"
export CHROMIUM=$chromium COLLAB_BRIDGE_BIN=$bridge
timeout --signal=TERM --kill-after=10 "${BROWSER_TIMEOUT:-300}" \
  node --test --test-concurrency=1 --test-force-exit --test-reporter="${BROWSER_REPORTER:-tap}" "${files[@]}" || rc=$?
if ((rc == 124)); then
  echo "error: the browser test run exceeded BROWSER_TIMEOUT=${BROWSER_TIMEOUT:-300} s and was stopped" >&2
fi
exit "$rc"
