# Helpers for the SQL benchmarks in this folder (bench/sql_*.sh). Source it; do not run it.
# shellcheck shell=bash
#
# bench_cluster_start initializes and starts a throwaway PostgreSQL 15 cluster under /tmp with default, durable
# settings (fsync on, synchronous_commit on, full_page_writes on), reachable only through a unix socket in its own
# directory, and creates database `bench` with the installed pg_collab extension. It exports PGHOST, PGPORT, PGUSER
# and PGDATABASE for psql and pgbench. The cluster is stopped and deleted when the script exits (BENCH_KEEP=1 keeps
# the directory, e.g. to read its server.log).
#
# As root the server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PGBENCH (default: pgbench from PG_BIN, else from PATH),
# BENCH_KEEP, BENCH_SETUP_SQL (SQL run right after CREATE EXTENSION, for experiments: for example
# "ALTER DATABASE bench SET pg_collab.checkpoint_interval = 100000" or
# "ALTER TABLE collab.snapshots ALTER COLUMN data SET COMPRESSION lz4"; printed with the figures).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ -z ${PGBENCH:-} ]]; then
  if [[ -x $PG_BIN/pgbench ]]; then PGBENCH=$PG_BIN/pgbench; else PGBENCH=$(command -v pgbench || true); fi
fi

bench_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Runs a command as the OS user that owns the cluster.
bench_as_owner() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A TCP port nobody listens on. The cluster does not listen on TCP (listen_addresses=''), and its socket lives in a
# private directory, so the port only names the socket file; a port that is free on TCP avoids confusing anyone.
bench_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((56000 + RANDOM % 4000))
    if ! ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$port\$"; then
      echo "$port"
      return 0
    fi
  done
  bench_die "no free port found in 56000-59999"
}

bench_cluster_stop() {
  [[ -n ${BENCH_DIR:-} && -d $BENCH_DIR ]] || return 0
  if [[ -f $BENCH_DIR/data/postmaster.pid ]]; then
    bench_as_owner "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    printf 'cluster directory kept: %s\n' "$BENCH_DIR" >&2
  else
    rm -rf "$BENCH_DIR"
  fi
}

bench_cluster_start() {
  for bin in initdb pg_ctl psql; do
    [[ -x $PG_BIN/$bin ]] || bench_die "$PG_BIN/$bin not found (install postgresql-15, or set PG_BIN)"
  done
  [[ -n $PGBENCH && -x $PGBENCH ]] || bench_die "pgbench not found (install postgresql-client-15, or set PGBENCH)"
  if [[ $EUID -eq 0 ]]; then
    getent passwd postgres >/dev/null || bench_die "running as root needs the postgres OS user (install postgresql-15)"
  fi

  BENCH_DIR=$(mktemp -d /tmp/pg_collab_bench.XXXXXX)
  trap bench_cluster_stop EXIT
  [[ $EUID -eq 0 ]] && chown postgres: "$BENCH_DIR"
  chmod 755 "$BENCH_DIR"
  local port
  port=$(bench_free_port)

  bench_as_owner "$PG_BIN/initdb" -D "$BENCH_DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust \
    >"$BENCH_DIR/initdb.log" 2>&1 || { cat "$BENCH_DIR/initdb.log" >&2; bench_die "initdb failed"; }
  bench_as_owner "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/server.log" -w -t 60 \
    -o "-p $port -k $BENCH_DIR -c listen_addresses=''" start >/dev/null ||
    { cat "$BENCH_DIR/server.log" >&2; bench_die "the benchmark cluster did not start"; }

  export PGHOST=$BENCH_DIR PGPORT=$port PGUSER=postgres PGDATABASE=bench
  unset PGSERVICE PGOPTIONS PGPASSWORD
  "$PG_BIN/psql" -X -q -d postgres -c "CREATE DATABASE bench" >/dev/null
  local available
  available=$(bench_sql "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_collab'")
  [[ $available == 1 ]] ||
    bench_die "the pg_collab extension is not installed in this PostgreSQL: run 'make install' first"
  bench_sql "CREATE EXTENSION pg_collab" >/dev/null
  [[ -z ${BENCH_SETUP_SQL:-} ]] || bench_sql "$BENCH_SETUP_SQL" >/dev/null
}

# Runs SQL statements (each in its own transaction, as in a psql script) on the benchmark database; prints the rows
# unaligned, tuples only.
bench_sql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At <<<"$1"; }

bench_print_machine() {
  printf 'machine:    %s cores, %s, %s\n' "$(nproc)" \
    "$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)" "$(uname -r)"
  printf 'postgres:   %s\n' "$(bench_sql 'SHOW server_version')"
  printf 'pgbench:    %s\n' "$("$PGBENCH" --version)"
  printf 'settings:   fsync=%s synchronous_commit=%s full_page_writes=%s wal_level=%s shared_buffers=%s\n' \
    "$(bench_sql 'SHOW fsync')" "$(bench_sql 'SHOW synchronous_commit')" "$(bench_sql 'SHOW full_page_writes')" \
    "$(bench_sql 'SHOW wal_level')" "$(bench_sql 'SHOW shared_buffers')"
  printf 'load:       %s (1, 5, 15 min load averages at the start; the machine may be shared)\n' "$(bench_load)"
  printf 'pg_collab:  %s (checkpoint_interval=%s, document_cache_size=%s)\n' \
    "$(bench_sql "SELECT extversion FROM pg_extension WHERE extname = 'pg_collab'")" \
    "$(bench_sql "LOAD 'pg_collab'; SHOW pg_collab.checkpoint_interval")" \
    "$(bench_sql "LOAD 'pg_collab'; SHOW pg_collab.document_cache_size")"
  local so
  so=$("$PG_BIN/pg_config" --pkglibdir 2>/dev/null)/pg_collab.so
  [[ -f $so ]] && printf 'library:    %s (sha256 %s, built %s)\n' "$so" "$(sha256sum "$so" | cut -c1-12)" \
    "$(date -u -r "$so" '+%Y-%m-%d %H:%M:%S UTC')"
  [[ -z ${BENCH_SETUP_SQL:-} ]] ||
    printf 'setup SQL:  %s   (BENCH_SETUP_SQL: an experiment, not the defaults)\n' "$BENCH_SETUP_SQL"
}

# The 1, 5 and 15 minute load averages.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_pgbench NAME CLIENTS SECONDS SCRIPT [pgbench options...]
# Runs pgbench (-n -M prepared, -j = min(2, clients)) and sets BENCH_TPS, BENCH_LAT_MS and BENCH_TXNS from its
# report, and BENCH_CPU_US: the server's CPU time per transaction in microseconds (all processes of the cluster,
# background ones included). BENCH_TPS is "invalid" when a client aborted (pgbench stops a
# client at its first error) or pgbench failed; the reason is printed.
# bench_server_scan: sets BENCH_SCAN_TICKS to the CPU time used so far by the whole cluster, in clock ticks (the
# postmaster, its live children: backends, WAL writer, checkpointer, autovacuum..., and its children that have exited,
# whose time the kernel adds to the postmaster's cutime/cstime when it reaps them), and BENCH_SCAN_CLIENTS to the
# number of its live client backends. Unlike tps, CPU time hardly depends on what else runs on a shared machine.
bench_server_scan() {
  local pm f line pid rest ppid
  pm=$(head -1 "$BENCH_DIR/data/postmaster.pid")
  BENCH_SCAN_TICKS=0
  BENCH_SCAN_CLIENTS=0
  for f in /proc/[0-9]*/stat; do
    line=$(cat "$f" 2>/dev/null) || continue
    pid=${line%% *}
    rest=${line##*) } # after "pid (comm) ": state ppid ... with utime, stime, cutime, cstime at 12-15
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- $rest
    ppid=$2
    if [[ $pid == "$pm" ]]; then
      BENCH_SCAN_TICKS=$((BENCH_SCAN_TICKS + ${12} + ${13} + ${14} + ${15}))
    elif [[ $ppid == "$pm" ]]; then
      BENCH_SCAN_TICKS=$((BENCH_SCAN_TICKS + ${12} + ${13}))
      if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^postgres: $PGUSER $PGDATABASE "; then
        BENCH_SCAN_CLIENTS=$((BENCH_SCAN_CLIENTS + 1))
      fi
    fi
  done
}

# shellcheck disable=SC2034 # BENCH_CPU_US is for the callers
bench_pgbench() {
  local name=$1 clients=$2 seconds=$3 script=$4
  shift 4
  local jobs=$((clients < 2 ? clients : 2)) out=$BENCH_DIR/pgbench-$name.out rc=0 cpu0 cpu1
  bench_server_scan
  cpu0=$BENCH_SCAN_TICKS
  "$PGBENCH" -n -M prepared -c "$clients" -j "$jobs" -T "$seconds" -f "$script" "$@" >"$out" 2>&1 || rc=$?
  # The backends of the run may take a moment to exit; their CPU time counts once they have.
  for _ in $(seq 1 50); do
    bench_server_scan
    ((BENCH_SCAN_CLIENTS == 0)) && break
    sleep 0.1
  done
  cpu1=$BENCH_SCAN_TICKS
  BENCH_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | tail -1)
  [[ -z $BENCH_TPS ]] || BENCH_TPS=$(printf '%.1f' "$BENCH_TPS")
  BENCH_LAT_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out" | tail -1)
  BENCH_TXNS=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out" | tail -1)
  local aborted
  aborted=$(grep -c 'aborted in command' "$out" || true)
  if [[ $rc -ne 0 || -z $BENCH_TPS || $aborted -gt 0 ]]; then
    printf '  %s: INVALID RUN (pgbench exit status %s, %s client(s) aborted). First errors:\n' "$name" "$rc" "$aborted"
    grep -m 3 -E 'ERROR|error|aborted' "$out" | sed 's/^/    /'
    BENCH_TPS=invalid
  fi
  : "${BENCH_LAT_MS:=?}" "${BENCH_TXNS:=0}"
  BENCH_CPU_US=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$BENCH_TXNS" \
    'BEGIN { if (n > 0) printf "%.0f\n", t * 1000000 / hz / n; else print "n/a" }')
}

# bench_ratio A B: A / B with 3 decimals, or "n/a" when either is not a positive number.
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
    printf "%.3f\n", a / b }'
}

# bench_sum X Y ...: the sum, or "invalid" when any is not a number.
bench_sum() {
  awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) { if (ARGV[i] !~ /^[0-9.]+$/) { print "invalid"; exit } s += ARGV[i] }
               printf "%.1f\n", s }' "$@"
}
