#!/usr/bin/env bash
# Bridge benchmarks (issue 3): collab-bridge against what users run today, the stock ShareDB server (npm sharedb 7)
# with sharedb-postgres on the same PostgreSQL cluster and with ShareDB's in-memory backend, on the same machine, in
# the same run, driven by the same load generator (loadgen.js, which speaks the ShareDB protocol). Prints the figures,
# a table and the ratios issue 3 asks for; nothing is asserted.
#
#   bench/bridge/run.sh                       all profiles against all three servers (about 15-20 minutes)
#   BENCH_SECONDS=5 PROFILES=many-docs bench/bridge/run.sh
#
# Builds nothing: it expects build/collab-bridge (make bridge). It starts, all on 127.0.0.1 only:
#   - a private PostgreSQL 15 cluster (port 55555, durable defaults: fsync, synchronous_commit on) with database
#     `bench` (CREATE EXTENSION pg_collab; login role bench_bridge, member of collab_bridge) and database `sharedb`
#     (the tables of sharedb-postgres, created by sharedb-server.js from the adapter's structure.sql);
#   - for each profile and each server, a fresh server: collab-bridge on 25556 (--log-level warn, --insecure-no-auth
#     with user 'anonymous' granted the editor right on collection bench, caps lifted; otherwise its
#     defaults; add flags with BENCH_BRIDGE_ARGS), ShareDB + sharedb-postgres on 25557, ShareDB + MemoryDB on 25558;
#     each runs alone while it is measured;
#   - for max-throughput, pgbench before and after the servers' ramps (the ceiling is the mean of the two): 8 clients
#     (-j 2, -M prepared) running single-op transactions
#     BEGIN; UPDATE ref_docs SET version = version + 1 WHERE id = :id RETURNING version; INSERT INTO ref_ops ...; COMMIT
#     (a row lock + an INSERT, no NOTIFY) on as many documents as the load generator uses: the durable single-op commit
#     ceiling of this machine.
# Everything is stopped at the end (also on error or Ctrl-C).
#
# Profiles (PROFILES, space-separated; default all): many-docs, hot-doc, max-throughput, idle. See loadgen.js --help.
#
# Environment:
#   BENCH_SECONDS        measured seconds per profile run (default 20; max-throughput steps last a quarter of it,
#                        at least 3 s; the idle hold lasts half of it); pgbench runs this long too
#   PROFILES             profiles to run (default "many-docs hot-doc max-throughput idle")
#   BENCH_SERVERS        servers to run (default "bridge sharedb-postgres sharedb-memory")
#   BENCH_SEED           load generator seed (default 1)
#   BENCH_IDLE_SOCKETS   sockets in the idle profile (default 10000)
#   BENCH_MT_CLIENTS     clients (= documents) in max-throughput and documents in pgbench (default 500)
#   BENCH_BRIDGE_ARGS    extra collab-bridge flags, e.g. "--batch-window-us 500"
#   BENCH_PG_PORT, BENCH_BRIDGE_PORT, BENCH_SHAREDB_PG_PORT, BENCH_SHAREDB_MEM_PORT   (55555, 25556, 25557, 25558;
#                        the servers' ports are below Linux's ephemeral range, 32768-60999, because each server is
#                        started after thousands of client sockets have used ports in that range)
#   BRIDGE               the bridge binary (default build/collab-bridge)
#   PG_BIN               PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   BENCH_QUIET_MAX, BENCH_QUIET_WAIT   before each measurement, wait up to BENCH_QUIET_WAIT seconds (300) for the
#                        machine's busy CPU (other processes) to fall under BENCH_QUIET_MAX percent of one core (25)
#   BENCH_KEEP=1         keep the work directory (cluster, server logs); results and logs are kept in any case
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BRIDGE=${BRIDGE:-$REPO/build/collab-bridge}
PG_PORT=${BENCH_PG_PORT:-55555}
BRIDGE_PORT=${BENCH_BRIDGE_PORT:-25556}
SDB_PG_PORT=${BENCH_SHAREDB_PG_PORT:-25557}
SDB_MEM_PORT=${BENCH_SHAREDB_MEM_PORT:-25558}
SECS=${BENCH_SECONDS:-20}
PROFILES=${PROFILES:-many-docs hot-doc max-throughput idle}
SERVERS=${BENCH_SERVERS:-bridge sharedb-postgres sharedb-memory}
SEED=${BENCH_SEED:-1}
IDLE_SOCKETS=${BENCH_IDLE_SOCKETS:-10000}
MT_CLIENTS=${BENCH_MT_CLIENTS:-500}
BRIDGE_ARGS=${BENCH_BRIDGE_ARGS:-}
PGBENCH_CLIENTS=8

die() {
  printf 'bench/bridge/run.sh: %s\n' "$*" >&2
  exit 1
}
info() { printf '== %s\n' "$*"; }

for v in SECS SEED IDLE_SOCKETS MT_CLIENTS PG_PORT BRIDGE_PORT SDB_PG_PORT SDB_MEM_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
((SECS >= 1)) || die "BENCH_SECONDS must be at least 1"
for p in $PROFILES; do
  case $p in many-docs | hot-doc | max-throughput | idle) ;; *) die "unknown profile '$p' (many-docs hot-doc max-throughput idle)" ;; esac
done
for s in $SERVERS; do
  case $s in bridge | sharedb-postgres | sharedb-memory) ;; *) die "unknown server '$s' (bridge sharedb-postgres sharedb-memory)" ;; esac
done

# --- prerequisites --------------------------------------------------------------------------------------------------
if [[ " $SERVERS " == *" bridge "* ]]; then
  [[ -x $BRIDGE ]] || die "$BRIDGE not found: build it first with 'make bridge' (or set BRIDGE, or leave it out with BENCH_SERVERS=\"sharedb-postgres sharedb-memory\")"
  "$BRIDGE" --help >/dev/null 2>&1 || die "$BRIDGE --help failed: the bridge binary does not run"
fi
for bin in initdb pg_ctl psql pgbench; do
  [[ -x $PG_BIN/$bin ]] || die "$PG_BIN/$bin not found (install postgresql-15 and postgresql-client-15, or set PG_BIN)"
done
command -v node >/dev/null || die "node not found"
command -v curl >/dev/null || die "curl not found"
if [[ $EUID -eq 0 ]]; then
  getent passwd postgres >/dev/null || die "running as root needs the postgres OS user (PostgreSQL refuses to run as root)"
fi
for port in "$PG_PORT" "$BRIDGE_PORT" "$SDB_PG_PORT" "$SDB_MEM_PORT"; do
  if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$port\$"; then
    die "port $port on this machine is in use: stop what listens there or choose other ports (BENCH_*_PORT)"
  fi
done
if [[ ! -d $HERE/node_modules/sharedb || $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]; then
  info "installing the pinned npm packages (npm ci in bench/bridge)"
  (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in $HERE"
fi

# Sockets: the idle profile needs about BENCH_IDLE_SOCKETS open files in the load generator and in the server.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ " $PROFILES " == *" idle "* ]] && (($(ulimit -n) < IDLE_SOCKETS + 500)); then
  die "the open-files limit is $(ulimit -n), too low for $IDLE_SOCKETS idle sockets (lower BENCH_IDLE_SOCKETS or raise the hard limit)"
fi

# --- work directory, cleanup -----------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/pg_collab_bridge_bench.XXXXXX)
RESULTS=$WORK/results
LOGS=$WORK/logs
mkdir -p "$RESULTS" "$LOGS"
chmod 755 "$WORK"
[[ $EUID -eq 0 ]] && chown postgres: "$WORK"
as_owner() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

SERVER_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  if [[ -f $WORK/data/postmaster.pid ]]; then
    as_owner "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    printf 'work directory kept: %s\n' "$WORK"
  else
    rm -rf "$WORK/data"
    printf 'results and logs: %s\n' "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bridge may be rebuilt while this runs: use a copy, so that every profile measures the same binary.
if [[ " $SERVERS " == *" bridge "* ]]; then
  cp "$BRIDGE" "$WORK/collab-bridge"
  touch -r "$BRIDGE" "$WORK/collab-bridge"
  BRIDGE_SOURCE=$BRIDGE
  BRIDGE=$WORK/collab-bridge
fi

# --- PostgreSQL --------------------------------------------------------------------------------------------------------
info "private PostgreSQL cluster on 127.0.0.1:$PG_PORT ($WORK/data)"
as_owner "$PG_BIN/initdb" -D "$WORK/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >"$LOGS/initdb.log" 2>&1 ||
  { cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
as_owner "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null ||
  { cat "$WORK/postgres.log" >&2; die "PostgreSQL did not start"; }
PG_PID=$(head -1 "$WORK/data/postmaster.pid")
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
unset PGDATABASE PGSERVICE PGOPTIONS PGPASSWORD
psql_() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
psql_ -d postgres -c "CREATE DATABASE bench" -c "CREATE DATABASE sharedb" >/dev/null
[[ $(psql_ -d bench -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_collab'") == 1 ]] ||
  die "the pg_collab extension is not installed in this PostgreSQL: run 'make install' first"
psql_ -d bench >/dev/null <<EOF
CREATE EXTENSION pg_collab;
CREATE ROLE bench_bridge LOGIN;
GRANT collab_bridge TO bench_bridge;
-- The bridge runs with --insecure-no-auth (no tokens to mint in a load test): every socket acts as user 'anonymous',
-- whose rights the database still checks on every request, as for any user.
SELECT collab.grant('bench', NULL, 'user:anonymous', 'editor');
CREATE TABLE ref_docs (id int PRIMARY KEY, version bigint NOT NULL);
CREATE TABLE ref_ops (doc int, version bigint, op jsonb NOT NULL, PRIMARY KEY (doc, version));
INSERT INTO ref_docs SELECT i, 1 FROM generate_series(1, $MT_CLIENTS) i;
EOF
BENCH_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=bench user=postgres"
BRIDGE_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=bench user=bench_bridge"
# All load comes from one address and one (anonymous) user: lift the per-user, per-address and handshake caps.
AUTH_ARGS=(--insecure-no-auth --max-connections-per-user 1000000 --max-connections-per-ip 1000000
  --max-unauthenticated 1000000)
SHAREDB_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=sharedb user=postgres"

# --- machine -----------------------------------------------------------------------------------------------------------
info "machine"
printf 'cores:      %s (shared by the load generator, the server under test and PostgreSQL)\n' "$(nproc)"
printf 'system:     %s, kernel %s, %s RAM\n' "$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)" \
  "$(uname -r)" "$(free -h | awk '/^Mem:/ {print $2}')"
printf 'node:       %s\n' "$(node --version)"
printf 'postgres:   %s; fsync=%s synchronous_commit=%s shared_buffers=%s; pg_collab %s\n' \
  "$(psql_ -d bench -c 'SHOW server_version')" "$(psql_ -d bench -c 'SHOW fsync')" \
  "$(psql_ -d bench -c 'SHOW synchronous_commit')" "$(psql_ -d bench -c 'SHOW shared_buffers')" \
  "$(psql_ -d bench -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_collab'")"
printf 'extension:  %s (installed %s)\n' "$("$PG_BIN/pg_config" --pkglibdir)/pg_collab.so" \
  "$(date -u -r "$("$PG_BIN/pg_config" --pkglibdir)/pg_collab.so" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
printf 'npm:        %s\n' "$(cd "$HERE" && node -e 'for (const p of ["sharedb","sharedb-postgres","ws","ot-text-unicode","pg"]) process.stdout.write(p + " " + require(p + "/package.json").version + "  ")')"
if [[ " $SERVERS " == *" bridge "* ]]; then
  printf 'bridge:     %s --log-level warn %s %s(built %s; repository at %s%s)\n' "$BRIDGE_SOURCE" "${AUTH_ARGS[*]}" "${BRIDGE_ARGS:+$BRIDGE_ARGS }" \
    "$(date -u -r "$BRIDGE" '+%Y-%m-%d %H:%M UTC')" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git -C "$REPO" status --porcelain -- server mk 2>/dev/null | grep -q . && echo ', server/ has uncommitted changes')"
fi
printf 'load:       %s (1-, 5-, 15-minute load average before the run)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'run:        BENCH_SECONDS=%s PROFILES="%s" BENCH_SERVERS="%s" BENCH_SEED=%s\n' "$SECS" "$PROFILES" "$SERVERS" "$SEED"

# --- servers -----------------------------------------------------------------------------------------------------------
server_port() {
  case $1 in bridge) echo "$BRIDGE_PORT" ;; sharedb-postgres) echo "$SDB_PG_PORT" ;; sharedb-memory) echo "$SDB_MEM_PORT" ;; esac
}

start_server() { # start_server NAME LOGFILE
  local name=$1 log=$2 port
  port=$(server_port "$name")
  case $name in
    bridge)
      # shellcheck disable=SC2086
      "$BRIDGE" --host 127.0.0.1 --port "$port" --db "$BRIDGE_CONNINFO" --log-level warn "${AUTH_ARGS[@]}" $BRIDGE_ARGS >"$log" 2>&1 &
      SERVER_PID=$!
      ;;
    sharedb-postgres)
      node "$HERE/sharedb-server.js" --backend postgres --port "$port" --pg "$SHAREDB_CONNINFO" >"$log" 2>&1 &
      SERVER_PID=$!
      ;;
    sharedb-memory)
      node "$HERE/sharedb-server.js" --backend memory --port "$port" >"$log" 2>&1 &
      SERVER_PID=$!
      ;;
  esac
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$log" >&2; SERVER_PID=; die "$name exited at start (log above)"; }
    if [[ $name == bridge ]]; then
      curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
    else
      grep -q '^listening' "$log" && return 0
    fi
    sleep 0.2
  done
  tail -20 "$log" >&2
  die "$name is not ready after 20 s (log above)"
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  local pid=$SERVER_PID i
  SERVER_PID=
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  printf 'server %s did not stop within 15 s of SIGTERM: killed\n' "$pid" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Busy CPU of the whole machine over 2 s, in percent of one core (nothing of ours runs but an idle PostgreSQL).
machine_busy() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2];
    printf "%d\n", (t > 0 ? (t - i) / t * 100 * n : 0) }'
}

# Other work on the machine skews every figure: wait (at most BENCH_QUIET_WAIT seconds, default 300) until the
# machine's busy CPU is under BENCH_QUIET_MAX percent of one core (default 25), then go on either way and say so.
wait_quiet() {
  local max=${BENCH_QUIET_MAX:-25} wait=${BENCH_QUIET_WAIT:-300} start busy
  start=$(date +%s)
  busy=$(machine_busy)
  while ((busy > max && $(date +%s) - start < wait)); do
    busy=$(machine_busy)
  done
  if ((busy > max)); then
    printf 'background load: %s%% of one core (other processes) after waiting %s s for it to drop under %s%%; figures are skewed\n' \
      "$busy" "$(($(date +%s) - start))" "$max"
  elif (($(date +%s) - start > 3)); then
    printf 'background load: %s%% of one core, after waiting %s s for other processes to calm down\n' "$busy" "$(($(date +%s) - start))"
  fi
}

run_profile() { # run_profile PROFILE SERVER
  local profile=$1 server=$2 port log args=()
  port=$(server_port "$server")
  log=$LOGS/$profile.$server.log
  psql_ -d postgres -c CHECKPOINT >/dev/null
  wait_quiet
  start_server "$server" "$log"
  args=(--url "ws://127.0.0.1:$port/" --profile "$profile" --label "$server" --seed "$SEED" --seconds "$SECS"
    --server-pid "$SERVER_PID" --pg-pid "$PG_PID" --json "$RESULTS/$profile.$server.json")
  case $server in
    bridge) args+=(--pg "$BENCH_CONNINFO" --pg-schema collab) ;;
    sharedb-postgres) args+=(--pg "$SHAREDB_CONNINFO" --pg-schema sharedb-postgres) ;;
  esac
  case $profile in
    max-throughput) args+=(--mt-clients "$MT_CLIENTS" --mt-step-seconds "$((SECS / 4 > 3 ? SECS / 4 : 3))") ;;
    idle) args+=(--idle-sockets "$IDLE_SOCKETS" --idle-hold "$((SECS / 2 > 5 ? SECS / 2 : 5))") ;;
  esac
  info "$profile against $server (ws://127.0.0.1:$port, pid $SERVER_PID)"
  local rc=0
  node "$HERE/loadgen.js" "${args[@]}" || rc=$?
  ((rc == 0)) || printf 'the load generator exited with status %s (%s against %s)\n' "$rc" "$profile" "$server"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    printf '%s DIED during %s; last lines of its log:\n' "$server" "$profile"
    tail -20 "$log"
    SERVER_PID=
  fi
  stop_server
  if [[ -s $log ]] && grep -qiE 'error|fatal|assert' "$log"; then
    printf '%s log has %s error line(s), e.g.:\n' "$server" "$(grep -ciE 'error|fatal|assert' "$log")"
    grep -iE -m 3 'error|fatal|assert' "$log" | cut -c1-300 | sed 's/^/  /'
  fi
}

PGBENCH_TPS=()
PGBENCH_LAT=()
run_pgbench() { # run_pgbench WHEN
  info "pgbench ceiling ($1): $PGBENCH_CLIENTS clients, single-op row lock + INSERT transactions (no NOTIFY), $MT_CLIENTS documents, $SECS s"
  cat >"$WORK/ceiling.sql" <<EOF
\\set id random(1, $MT_CLIENTS)
\\set pos random(1, 100)
BEGIN;
UPDATE ref_docs SET version = version + 1 WHERE id = :id RETURNING version \\gset
INSERT INTO ref_ops (doc, version, op) VALUES (:id, :version, jsonb_build_array(:pos::int, 'abc'::text));
COMMIT;
EOF
  psql_ -d postgres -c CHECKPOINT >/dev/null
  wait_quiet
  local out=$LOGS/pgbench-$1.out rc=0
  "$PG_BIN/pgbench" -n -M prepared -c "$PGBENCH_CLIENTS" -j 2 -T "$SECS" -f "$WORK/ceiling.sql" bench >"$out" 2>&1 || rc=$?
  local tps lat aborted
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | tail -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out" | tail -1)
  aborted=$(grep -c 'aborted' "$out" || true)
  if [[ $rc -ne 0 || -z $tps || $aborted -gt 0 ]]; then
    printf 'pgbench: INVALID RUN (exit status %s):\n' "$rc"
    tail -5 "$out"
    tps=null
  else
    printf 'pgbench: %.1f tps, latency average %s ms\n' "$tps" "$lat"
  fi
  PGBENCH_TPS+=("$tps")
  PGBENCH_LAT+=("${lat:-null}")
  # The ceiling is the mean of the runs before and after the servers' ramps (the machine may be shared).
  local IFS=,
  printf '{"runs": [%s], "latencies_ms": [%s], "clients": %s, "seconds": %s, "docs": %s}\n' \
    "${PGBENCH_TPS[*]}" "${PGBENCH_LAT[*]}" "$PGBENCH_CLIENTS" "$SECS" "$MT_CLIENTS" >"$RESULTS/pgbench.json"
}

for profile in $PROFILES; do
  [[ $profile == max-throughput ]] && run_pgbench before
  for server in $SERVERS; do
    run_profile "$profile" "$server"
  done
  [[ $profile == max-throughput ]] && run_pgbench after
done

info "summary (latencies in ms; cpu% = percent of one core used by the load generator / the server / PostgreSQL / other processes during the window)"
printf 'load:       %s (load average after the run)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
node "$HERE/report.js" "$RESULTS"
