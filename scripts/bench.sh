#!/usr/bin/env bash
# `make bench`: builds and installs everything, starts a fresh private `test` cluster, and runs the benchmarks:
# `make bench-core`, then every executable bench/*.sh and bench/*/run.sh in name order, with PGHOST, PGPORT, PGUSER and PGDATABASE set
# for the cluster. Each benchmark prints its own figures; nothing is asserted. Record them in docs/benchmarks.md.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/bench.sh [--keep-cluster]     (make bench runs it without options)

Installs missing packages, builds (make, make native), installs the extension, starts a fresh private `test` cluster
and runs `make bench-core` and then each executable bench/*.sh and bench/*/run.sh (with PGHOST/PGPORT/PGUSER/PGDATABASE set). Prints
the figures and a summary; the exit status is 1 if a benchmark failed to run. Do not run it alongside make test: both
use the `test` cluster, and the figures are only meaningful on an otherwise idle machine.

  --keep-cluster  leave the cluster running afterwards (scripts/pg-cluster.sh --name test stop stops it)
  --help          this text
EOF
}

keep_cluster=false
for arg in "$@"; do
  case $arg in
    --keep-cluster) keep_cluster=true ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

cd "$REPO"

"$REPO/scripts/install-deps.sh"
step "build"
run_make || die "the extension did not build (errors above)"
run_make native || die "make native failed (errors above)"
run_make bridge || die "make bridge failed (errors above)"
install_extension

step "cluster"
use_fresh_test_cluster "$keep_cluster" || die "the test cluster did not start (see above)"

run_recorded bench-core "" make --no-print-directory bench-core
for script in "$REPO"/bench/*.sh "$REPO"/bench/*/run.sh; do
  [[ -f $script && -x $script ]] || continue
  run_recorded "${script#"$REPO"/}" "" "$script"
done

release_test_cluster
print_run_table benchmark
((RUN_FAILED == 0)) || die "$RUN_FAILED benchmark(s) failed (output above)"
