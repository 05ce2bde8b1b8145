#!/usr/bin/env bash
# Fault-injection run of collab-bridge + pg_collab (tests/chaos/chaos.js; see tests/chaos/README.md).
#
#   tests/chaos/run.sh [--duration SECONDS] [--seed N]
#
# Needs: build/collab-bridge (make bridge), the extension installed (make install), the e2e node modules
# (tests/e2e, installed here with npm ci when missing), and a running cluster named by PGHOST/PGPORT/PGUSER whose
# superuser may create the database `chaos` (dropped first; CHAOS_DATABASE overrides) and restart the cluster with
# pg_ctl (as root: through runuser -u postgres). Environment: CHAOS_DURATION (default 100 s), CHAOS_SEED (replay),
# CHAOS_BRIDGES (3), CHAOS_CLIENTS (8), CHAOS_DOCS (8), CHAOS_NEMESES (1; 2 = overlapping faults), CHAOS_TIMEOUT
# (hang guard of the whole run, default duration + 300 s), COLLAB_BRIDGE_BIN.
# Exit status 0: every check passed; 1: a check failed (history saved in tests/chaos/failures/<seed>/); 2: setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
bridge=${COLLAB_BRIDGE_BIN:-$repo/build/collab-bridge}
e2e=$repo/tests/e2e

die() {
  printf 'error: %s\n' "$*" >&2
  exit 2
}

duration=${CHAOS_DURATION:-100}
seed=${CHAOS_SEED:-}
while (($#)); do
  case $1 in
    --duration) duration=${2:?--duration needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (usage: $0 [--duration SECONDS] [--seed N])" ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] || die "--duration must be a number of seconds"
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"

[[ -x $bridge ]] || die "$bridge not found or not executable: build it first (make bridge)"
"$bridge" --help >/dev/null 2>&1 || die "$bridge --help failed: is the build complete?"
command -v node >/dev/null || die "node not found: run scripts/install-deps.sh"
for v in PGHOST PGPORT PGUSER; do
  [[ -n ${!v:-} ]] || die "$v is not set: point PGHOST/PGPORT/PGUSER at a running cluster"
done

installed=$e2e/node_modules/.package-lock.json
if [[ ! -f $installed || $e2e/package-lock.json -nt $installed || $e2e/package.json -nt $installed ]]; then
  command -v npm >/dev/null || die "npm not found: run scripts/install-deps.sh"
  npm ci --prefix "$e2e" --no-audit --no-fund
fi

mkdir -p "$here/logs"
args=(--duration "$duration")
[[ -n $seed ]] && args+=(--seed "$seed")
cd "$repo"
rc=0
timeout --signal=TERM --kill-after=10 "${CHAOS_TIMEOUT:-$((duration + 300))}" node "$here/chaos.js" "${args[@]}" || rc=$?
if ((rc == 124)); then
  echo "error: the chaos run exceeded CHAOS_TIMEOUT and was stopped (a hang): see tests/chaos/logs/" >&2
fi
exit "$rc"
