# Shared helpers for the scripts in this folder. Source it; do not run it.
# shellcheck shell=bash
#
# Sets REPO (the repository root, absolute and with symlinks resolved), PG_BIN (PostgreSQL 15 server binaries:
# `$PG_CONFIG --bindir` when PG_CONFIG is set, else /usr/lib/postgresql/15/bin) and JOBS (parallel make jobs).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
if [[ -n ${PG_CONFIG:-} ]]; then
  PG_BIN=$("$PG_CONFIG" --bindir) || {
    echo "error: PG_CONFIG=$PG_CONFIG does not run; unset PG_CONFIG or point it at PostgreSQL 15's pg_config" >&2
    exit 1
  }
else
  PG_BIN=/usr/lib/postgresql/15/bin
fi
JOBS=$(nproc 2>/dev/null || echo 2)

# Messages go to stderr so that a script's stdout stays usable (pg-cluster.sh env is eval'ed).
info() { printf '%s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# A banner between the steps of a long script.
step() { printf '\n==> %s\n' "$*" >&2; }

# make with the repository's Makefile, in parallel.
run_make() { make -C "$REPO" --no-print-directory -j"$JOBS" "$@"; }

# `make install` puts pg_collab.so, pg_collab.control and the install SQL into PostgreSQL's own directories. As root,
# or when those directories are writable, that just works. Otherwise it is done with `sudo -n` where sudo needs no
# password, and if it cannot be, it is enough that the installed files already equal the built ones (someone ran
# `sudo make install` after the last build); in any other case the user is told what to run.
install_extension() {
  local pg_config=${PG_CONFIG:-$PG_BIN/pg_config} libdir sharedir
  libdir=$("$pg_config" --pkglibdir) || die "$pg_config --pkglibdir failed; run scripts/install-deps.sh"
  sharedir=$("$pg_config" --sharedir)/extension
  if [[ $EUID -eq 0 || (-w $libdir && -w $sharedir) ]]; then
    run_make install
    return
  fi
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n make -C "$REPO" --no-print-directory install PG_CONFIG="$pg_config"
    return
  fi
  local f dest stale=()
  for f in "$REPO"/pg_collab.so "$REPO"/pg_collab.control "$REPO"/extension/pg_collab--*.sql; do
    dest=$sharedir
    [[ $f != *.so ]] || dest=$libdir
    cmp -s "$f" "$dest/${f##*/}" || stale+=("$f")
  done
  [[ ${#stale[@]} -eq 0 ]] || die "make install needs root to write to $libdir and $sharedir, and these built files differ from the installed ones: ${stale[*]#"$REPO"/}. Run 'sudo make -C $REPO install', then run this again."
  info "make install skipped: not root, and the installed extension files equal the built ones"
}

# Starts a fresh private `test` cluster and exports PGHOST, PGPORT, PGUSER and PGDATABASE for it; returns 1 if it
# could not. The cluster is stopped by release_test_cluster, or at exit, unless $1 is true (--keep-cluster).
use_fresh_test_cluster() {
  local cluster_env
  TEST_CLUSTER_KEEP=$1
  trap release_test_cluster EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  "$REPO/scripts/pg-cluster.sh" --name test start --fresh || return 1
  cluster_env=$("$REPO/scripts/pg-cluster.sh" --name test env) || return 1
  eval "$cluster_env"
  export PGHOST PGPORT PGUSER PGDATABASE
}

release_test_cluster() {
  trap - EXIT
  if [[ -z ${TEST_CLUSTER_KEEP:-} ]]; then
    return 0
  elif [[ $TEST_CLUSTER_KEEP == true ]]; then
    info "the test cluster keeps running: scripts/pg-cluster.sh --name test psql; stop it with scripts/pg-cluster.sh --name test stop"
  else
    "$REPO/scripts/pg-cluster.sh" --name test stop || info "warning: the test cluster did not stop cleanly (see above)"
  fi
}

# run_recorded NAME BLOCKER COMMAND...: runs a test suite or benchmark and records its name, outcome and seconds. If
# BLOCKER is not empty, it says why the suite cannot run (a build failed, say): the suite is recorded as not run,
# which counts as failed. Returns 0 whatever happened, so that the next suite runs. print_run_table shows the records.
RUN_NAMES=()
RUN_OUTCOMES=()
RUN_SECONDS=()
run_recorded() {
  local name=$1 blocker=$2 start rc=0
  shift 2
  RUN_NAMES+=("$name")
  if [[ -n $blocker ]]; then
    RUN_OUTCOMES+=("not run: $blocker")
    RUN_SECONDS+=(0)
    return 0
  fi
  step "$name: $*"
  start=$SECONDS
  "$@" || rc=$?
  RUN_SECONDS+=($((SECONDS - start)))
  if ((rc == 0)); then
    RUN_OUTCOMES+=(passed)
  else
    RUN_OUTCOMES+=("FAILED (exit $rc)")
    info "$name FAILED (exit status $rc)"
  fi
}

# print_run_table HEADING: prints the table of run_recorded's records and sets RUN_PASSED and RUN_FAILED.
print_run_table() {
  local i
  RUN_PASSED=0
  RUN_FAILED=0
  printf '\n%-24s %-40s %7s\n' "$1" outcome seconds
  for i in "${!RUN_NAMES[@]}"; do
    printf '%-24s %-40s %7d\n' "${RUN_NAMES[i]}" "${RUN_OUTCOMES[i]}" "${RUN_SECONDS[i]}"
    if [[ ${RUN_OUTCOMES[i]} == passed ]]; then
      RUN_PASSED=$((RUN_PASSED + 1))
    else
      RUN_FAILED=$((RUN_FAILED + 1))
    fi
  done
}
