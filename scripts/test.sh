#!/usr/bin/env bash
# `make test`: installs missing packages, builds and installs the extension and the native tools, starts a fresh
# private `test` cluster, runs every test suite (continuing after a failure), stops the cluster and prints a summary.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/test.sh [--quick] [--keep-cluster]     (make test runs it without options)

Installs missing packages (scripts/install-deps.sh), builds (make, make native), installs the extension
(make install), starts a fresh private `test` cluster (scripts/pg-cluster.sh) and runs, in order:
  installcheck   pg_regress (sql/, expected/) and isolation tests (tests/isolation/)
  unit-test      GoogleTest unit tests of the OT core
  bridge-unit    GoogleTest unit tests of the bridge's modules (JWT verification; no database)
  diff-test      differential test against npm ot-text-unicode (DIFF_CASES cases)
  trace-test     editing-trace replays through the core
  sql-replay     tests/trace/sql_replay.sh: a trace replayed through collab.submit
  bridge-db      the bridge's database layer against the cluster (build/db-smoke)
  e2e            tests/e2e/run.sh: collab-bridge end to end (make bridge; bridges, stock sharedb clients, restarts)
  browser        tests/browser/run.sh: the web editor (make web) in chromium, two users, through collab-bridge
  fuzz-smoke     make fuzz-smoke: each libFuzzer target (tests/fuzz) for 15 s, ASan+UBSan, TP1 as oracle
  sanitize-unit  make sanitize-unit: the core's and the bridge's unit tests built with ASan+UBSan
  e2e-asan       the e2e suite against an ASan+UBSan bridge (make sanitize), its logs checked for sanitizer reports
  chaos          tests/chaos/run.sh --duration 90: stock clients on 3 bridges under injected faults (bridge kills
                 and stops, PostgreSQL restarts, terminated sessions, cut sockets); no acked op lost or duplicated
A failing suite does not stop the others. The last line is `N passed, M failed`; the exit status is 1 if any failed.

  --quick         DIFF_CASES=10000 instead of the default
  --keep-cluster  leave the test cluster running afterwards (scripts/pg-cluster.sh --name test stop stops it)
  --help          this text
EOF
}

quick=false
keep_cluster=false
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    --keep-cluster) keep_cluster=true ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

cd "$REPO"

step "dependencies"
"$REPO/scripts/install-deps.sh"

# A failed build does not stop the suites that do not need it: their results still help. What a suite needs and
# could not get is its blocker, and it is then recorded as not run (and failed).
step "build"
sql_blocker=
native_blocker=
browser_blocker=
run_make || sql_blocker="the extension did not build"
[[ -n $sql_blocker ]] || (install_extension) || sql_blocker="make install failed"
run_make native || native_blocker="make native failed"
# The e2e suite needs the extension in the cluster and the bridge binary.
e2e_blocker=$sql_blocker
if [[ -z $e2e_blocker ]]; then
  run_make bridge || e2e_blocker="make bridge failed"
fi
# The browser suite also needs the web editor's bundle (web/dist).
run_make web || browser_blocker="make web failed"

if [[ -z $sql_blocker ]]; then
  step "test cluster"
  use_fresh_test_cluster "$keep_cluster" || sql_blocker="the test cluster did not start"
fi

diff_cases=()
if $quick; then
  diff_cases=(DIFF_CASES=10000)
  export DIFF_CASES=10000
fi

# The e2e suite against the ASan+UBSan bridge (database e2e_asan), then its logs checked for sanitizer reports.
e2e_asan() {
  make --no-print-directory sanitize || return 1
  local started
  started=$(mktemp)
  COLLAB_BRIDGE_BIN="$REPO/build/asan/collab-bridge" E2E_DATABASE=e2e_asan "$REPO/tests/e2e/run.sh" || {
    rm -f "$started"
    return 1
  }
  "$REPO/tests/fuzz/check-asan-logs.sh" --newer "$started"
  local rc=$?
  rm -f "$started"
  return "$rc"
}

# pg_regress and pg_isolation_regress; on failure their diffs are printed, so that a CI log shows them.
installcheck() {
  rm -f regression.diffs output_iso/regression.diffs
  local rc=0 f
  make --no-print-directory installcheck || rc=$?
  if ((rc != 0)); then
    for f in regression.diffs output_iso/regression.diffs; do
      if [[ -s $f ]]; then
        info "--- $f ---"
        cat "$f" >&2
        info "--- end of $f ---"
      fi
    done
  fi
  return "$rc"
}

run_recorded installcheck "$sql_blocker" installcheck
run_recorded unit-test "$native_blocker" make --no-print-directory unit-test
run_recorded bridge-unit "" make --no-print-directory bridge-unit-test
run_recorded diff-test "$native_blocker" make --no-print-directory diff-test "${diff_cases[@]}"
# json0 against npm ot-json0: 50,000 cases by default (make diff-test-json0 DIFF_CASES=N for more).
json0_cases=(DIFF_CASES=50000)
$quick && json0_cases=(DIFF_CASES=5000)
run_recorded diff-test-json0 "$native_blocker" make --no-print-directory diff-test-json0 "${json0_cases[@]}"
run_recorded trace-test "$native_blocker" make --no-print-directory trace-test
run_recorded sql-replay "$sql_blocker" "$REPO/tests/trace/sql_replay.sh"
run_recorded bridge-db "${e2e_blocker:-$sql_blocker}" make --no-print-directory bridge-db-test
run_recorded e2e "${e2e_blocker:-$sql_blocker}" "$REPO/tests/e2e/run.sh"
run_recorded browser "${browser_blocker:-${e2e_blocker:-$sql_blocker}}" "$REPO/tests/browser/run.sh"
run_recorded fuzz-smoke "" make --no-print-directory fuzz-smoke FUZZ_SMOKE_SECONDS=15
run_recorded sanitize-unit "" make --no-print-directory sanitize-unit
run_recorded e2e-asan "${e2e_blocker:-$sql_blocker}" e2e_asan
# Last: it restarts the test cluster (fast and immediate) on purpose.
run_recorded chaos "${e2e_blocker:-$sql_blocker}" "$REPO/tests/chaos/run.sh" --duration 90

release_test_cluster
print_run_table suite
echo
echo "$RUN_PASSED passed, $RUN_FAILED failed"
((RUN_FAILED == 0)) || exit 1
