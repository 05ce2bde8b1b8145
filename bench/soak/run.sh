#!/usr/bin/env bash
# Soak run (issue 7): SOAK_CLIENTS stock-protocol clients against one collab-bridge for SOAK_SECONDS, watching
# whether the bridge's RSS stays flat after warm-up and how the ack latency evolves. See bench/soak/README.md.
#
#   bench/soak/run.sh                                   1,000 clients, 200 documents, 10 minutes (make soak)
#   SOAK_SECONDS=60 SOAK_CLIENTS=200 bench/soak/run.sh  a short check
#
# Builds nothing: it expects build/collab-bridge (make bridge) and the installed pg_collab extension. It starts, all
# private to this run: a throwaway PostgreSQL 15 cluster (bench/cluster.bash: durable defaults, unix socket only,
# database `bench` with the extension), a role bench_bridge (member of collab_bridge) and the editor right on
# collection `bench` for user 'anonymous', and one collab-bridge on 127.0.0.1:SOAK_BRIDGE_PORT with
# --insecure-no-auth and the per-user/per-address caps lifted (as bench/bridge/run.sh does). The load is
# bench/bridge/loadgen.js (profile many-docs with --clients/--docs/--rate overridden, Poisson arrivals, no warm-up
# exclusion) run through bench/soak/soak-loadgen.js, which records figures every 10 s and the RSS every 5 s.
# Everything is stopped at the end (also on error or Ctrl-C).
#
# Writes bench/soak/results/<UTC timestamp>/: samples.csv, rss.csv, minutes.csv, summary.txt, soak.png,
# loadgen.json, loadgen.log, bridge.log, checks.txt.
#
# Exit status: 0 when the run itself succeeded: no errors counted by the load generator, every client settled, every
# document converged (clients = fresh fetch = database), the bridge still running at the end with a clean log, the
# op-log of every document contiguous and the wire acks equal to the op-log growth. Latency and the RSS verdict are
# reported, not asserted. 1 otherwise; 2 on bad settings or missing prerequisites.
#
# Environment:
#   SOAK_SECONDS      load duration in seconds (default 600)
#   SOAK_CLIENTS      clients, one WebSocket each (default 1000)
#   SOAK_DOCS         documents; clients are spread evenly over them (default 200: 5 editors per document)
#   SOAK_RATE         edits per second per client (default 0.3: one edit every 3.3 s on average, Poisson arrivals)
#   SOAK_WARMUP       seconds after the load starts before the RSS is judged (default: 10% more than the time the
#                     bridge's per-document recent-op buffers take to fill, SOAK_DOCS * 512 / (SOAK_CLIENTS *
#                     SOAK_RATE), at least 60 s: 380 s with the defaults; see README.md)
#   SOAK_FLAT_PCT, SOAK_FLAT_MIB   RSS verdict rule: flat when the end RSS exceeds the warm-up RSS by less than
#                     SOAK_FLAT_PCT percent (5) or SOAK_FLAT_MIB MiB (8), whichever is larger (see README.md)
#   SOAK_SEED         load generator seed (default 1)
#   SOAK_BRIDGE_PORT  (default 25566)
#   SOAK_BRIDGE_ARGS  extra collab-bridge flags
#   SOAK_RESULTS      results directory (default bench/soak/results/<UTC timestamp>)
#   BRIDGE            the bridge binary (default build/collab-bridge); PG_BIN (default /usr/lib/postgresql/15/bin)
#   BENCH_KEEP=1      keep the cluster directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BRIDGE=${BRIDGE:-$REPO/build/collab-bridge}
SECS=${SOAK_SECONDS:-600}
CLIENTS=${SOAK_CLIENTS:-1000}
DOCS=${SOAK_DOCS:-200}
RATE=${SOAK_RATE:-0.3}
WARMUP=${SOAK_WARMUP:-}
FLAT_PCT=${SOAK_FLAT_PCT:-5}
FLAT_MIB=${SOAK_FLAT_MIB:-8}
SEED=${SOAK_SEED:-1}
PORT=${SOAK_BRIDGE_PORT:-25566}
BRIDGE_ARGS=${SOAK_BRIDGE_ARGS:-}

die2() {
  printf 'bench/soak/run.sh: %s\n' "$*" >&2
  exit 2
}
info() { printf '== %s\n' "$*"; }

# Default warm-up: the bridge keeps the last kFeedKeepOps ops (512) of every subscribed document in memory
# (server/bridge.cpp), so its RSS rises until every document's feed is full: DOCS * 512 / (CLIENTS * RATE) seconds
# (341 s with the defaults). The warm-up ends 10% after that, and not before 60 s.
FEED_KEEP=$(sed -n 's/^constexpr std::size_t kFeedKeepOps = \([0-9]*\);.*/\1/p' "$REPO/server/bridge.cpp" 2>/dev/null | head -1)
FEED_KEEP=${FEED_KEEP:-512}
if [[ -z $WARMUP ]]; then
  WARMUP=$(awk -v k="$FEED_KEEP" -v d="$DOCS" -v c="$CLIENTS" -v r="$RATE" \
    'BEGIN { w = (c * r > 0) ? 1.1 * k * d / (c * r) : 60; w = int((w + 9) / 10) * 10; print (w < 60 ? 60 : w) }')
fi
for v in SECS CLIENTS DOCS WARMUP SEED PORT FLAT_MIB; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die2 "$v must be a non-negative integer, not '${!v}'"
done
[[ $RATE =~ ^[0-9]*\.?[0-9]+$ && $FLAT_PCT =~ ^[0-9]*\.?[0-9]+$ ]] || die2 "SOAK_RATE and SOAK_FLAT_PCT must be numbers"
((SECS >= 10 && CLIENTS >= 1 && DOCS >= 1 && DOCS <= CLIENTS)) || die2 "need SOAK_SECONDS >= 10 and 1 <= SOAK_DOCS <= SOAK_CLIENTS"
((WARMUP + 120 <= SECS)) || printf 'bench/soak/run.sh: warning: the warm-up (%s s) leaves less than 2 minutes of the %s-s run to judge the RSS: lengthen SOAK_SECONDS or set SOAK_WARMUP\n' "$WARMUP" "$SECS" >&2

# --- prerequisites ------------------------------------------------------------------------------------------------------
command -v gnuplot >/dev/null ||
  die2 "gnuplot not found: it draws soak.png. Install it (Debian/Ubuntu: apt-get install -y gnuplot-nox; scripts/install-deps.sh)"
gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo || gnuplot -e 'set terminal' 2>&1 | grep -qw png ||
  die2 "this gnuplot has neither the pngcairo nor the png terminal (install gnuplot-nox)"
[[ -x $BRIDGE ]] || die2 "$BRIDGE not found: build it first with 'make bridge' (or set BRIDGE)"
"$BRIDGE" --help >/dev/null 2>&1 || die2 "$BRIDGE --help failed: the bridge binary does not run"
command -v node >/dev/null || die2 "node not found"
command -v curl >/dev/null || die2 "curl not found"
if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -q ":$PORT\$"; then
  die2 "port $PORT is in use: stop what listens there or set SOAK_BRIDGE_PORT"
fi
if [[ ! -d $REPO/bench/bridge/node_modules/ws || $REPO/bench/bridge/package-lock.json -nt $REPO/bench/bridge/node_modules/.package-lock.json ]]; then
  info "installing the pinned npm packages (npm ci in bench/bridge)"
  (cd "$REPO/bench/bridge" && npm ci --no-audit --no-fund >/dev/null) || die2 "npm ci failed in bench/bridge"
fi
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= CLIENTS + 500)) || die2 "the open-files limit is $(ulimit -n), too low for $CLIENTS clients"

OUT=${SOAK_RESULTS:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# --- cluster (bench/cluster.bash) and bridge ------------------------------------------------------------------------------
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=cluster.bash
source "$REPO/bench/cluster.bash"
BRIDGE_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $BRIDGE_PID ]] && kill -0 "$BRIDGE_PID" 2>/dev/null; then
    kill -TERM "$BRIDGE_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BRIDGE_PID" 2>/dev/null || true
  fi
  bench_cluster_stop
  printf 'results: %s\n' "$OUT"
  exit "$rc"
}
info "private PostgreSQL cluster"
bench_cluster_start
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_sql "CREATE ROLE bench_bridge LOGIN; GRANT collab_bridge TO bench_bridge;
SELECT collab.grant('bench', NULL, 'user:anonymous', 'editor');" >/dev/null
PG_PID=$(head -1 "$BENCH_DIR/data/postmaster.pid")

# The bridge may be rebuilt while this runs: run a copy.
cp "$BRIDGE" "$BENCH_DIR/collab-bridge"
BRIDGE_BIN=$BENCH_DIR/collab-bridge
AUTH_ARGS=(--insecure-no-auth --max-connections-per-user 1000000 --max-connections-per-ip 1000000
  --max-unauthenticated 1000000)
info "collab-bridge on 127.0.0.1:$PORT"
# shellcheck disable=SC2086
"$BRIDGE_BIN" --host 127.0.0.1 --port "$PORT" --db "host=$BENCH_DIR port=$PGPORT dbname=bench user=bench_bridge" \
  --log-level warn "${AUTH_ARGS[@]}" $BRIDGE_ARGS >"$OUT/bridge.log" 2>&1 &
BRIDGE_PID=$!
for i in $(seq 1 100); do
  kill -0 "$BRIDGE_PID" 2>/dev/null || { tail -20 "$OUT/bridge.log" >&2; BRIDGE_PID=; printf 'bench/soak/run.sh: the bridge exited at start\n' >&2; exit 1; }
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
  ((i < 100)) || { tail -20 "$OUT/bridge.log" >&2; printf 'bench/soak/run.sh: the bridge is not ready after 20 s\n' >&2; exit 1; }
  sleep 0.2
done

{
  printf 'date:       %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  bench_print_machine
  printf 'node:       %s\n' "$(node --version)"
  printf 'bridge:     %s (built %s; repository at %s%s) --log-level warn %s %s\n' "$BRIDGE" \
    "$(date -u -r "$BRIDGE" '+%Y-%m-%d %H:%M UTC')" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git -C "$REPO" status --porcelain -- server 2>/dev/null | grep -q . && echo ', server/ has uncommitted changes')" \
    "${AUTH_ARGS[*]}" "$BRIDGE_ARGS"
  printf 'workload:   %s clients on %s documents, %s edits/s per client (Poisson), %s s, seed %s\n' \
    "$CLIENTS" "$DOCS" "$RATE" "$SECS" "$SEED"
  printf 'warm-up:    %s s (the feeds of recent ops, %s per document, fill after about %s s)\n' "$WARMUP" "$FEED_KEEP" \
    "$(awk -v k="$FEED_KEEP" -v d="$DOCS" -v c="$CLIENTS" -v r="$RATE" 'BEGIN { printf "%d", k * d / (c * r) }')"
} | tee "$OUT/setup.txt"
if pgrep -f ci-check >/dev/null 2>&1; then
  printf 'note:       a ci-check run was active when the soak started (the machine is shared)\n' | tee -a "$OUT/setup.txt"
fi

# --- load ------------------------------------------------------------------------------------------------------------------
info "load: $CLIENTS clients, $DOCS documents, $RATE edits/s each, $SECS s (figures every 10 s in $OUT/windows.csv)"
set +e
node "$HERE/soak-loadgen.js" --soak-dir "$OUT" -- \
  --url "ws://127.0.0.1:$PORT/" --profile many-docs --label soak --seed "$SEED" --warmup 0 --seconds "$SECS" \
  --clients "$CLIENTS" --docs "$DOCS" --rate "$RATE" --prefix "soak$SEED" --connect-concurrency 100 \
  --server-pid "$BRIDGE_PID" --pg-pid "$PG_PID" --pg "host=$BENCH_DIR port=$PGPORT dbname=bench user=postgres" \
  --pg-schema collab --json "$OUT/loadgen.json" 2>&1 | tee "$OUT/loadgen.log"
LG_RC=${PIPESTATUS[0]}
set -e

# --- checks ------------------------------------------------------------------------------------------------------------------
info "checks"
FAIL=0
check() { # check OK|FAIL TEXT
  printf '%-4s %s\n' "$1" "$2" | tee -a "$OUT/checks.txt"
  [[ $1 == ok ]] || FAIL=1
}
: >"$OUT/checks.txt"
if ((LG_RC == 0)) && [[ -s $OUT/loadgen.json ]]; then check ok "load generator completed"; else check FAIL "load generator exited with status $LG_RC"; fi
if kill -0 "$BRIDGE_PID" 2>/dev/null; then
  check ok "bridge still running at the end (pid $BRIDGE_PID)"
else
  check FAIL "the bridge DIED during the run; last lines of its log:"
  tail -20 "$OUT/bridge.log" | tee -a "$OUT/checks.txt"
  BRIDGE_PID=
fi
if grep -qiE 'error|fatal|assert' "$OUT/bridge.log"; then
  check FAIL "bridge log has $(grep -ciE 'error|fatal|assert' "$OUT/bridge.log") error line(s), e.g. $(grep -iE -m 1 'error|fatal|assert' "$OUT/bridge.log" | cut -c1-200)"
else
  check ok "bridge log has no error lines ($(wc -l <"$OUT/bridge.log") lines at --log-level warn)"
fi
if [[ -s $OUT/loadgen.json ]]; then
  while IFS= read -r line; do check "${line%% *}" "${line#* }"; done < <(node -e '
    const r = require(process.argv[1]);
    const say = (ok, t) => console.log((ok ? "ok " : "FAIL ") + t);
    say(r.errorCount === 0, `load generator errors: ${r.errorCount} ${JSON.stringify(r.errors)}`);
    say(r.settled && r.unackedAtEnd === 0 && r.fanoutMissingAtEnd === 0, `settled: ${r.settled} (unacked ${r.unackedAtEnd}, fan-out missing ${r.fanoutMissingAtEnd})`);
    const c = r.convergence;
    say(c.converged === c.docs && c.docs === r.docs && !c.error, `convergence (every client = fresh fetch = collab.fetch in the database): ${c.converged}/${c.docs} documents${c.error ? "; " + c.error : ""}`);
  ' "$OUT/loadgen.json")
fi
# Op-log: every document of this run has versions 0..version-1, each once (the primary key makes them unique), and the
# wire acks equal the op-log growth (all ops of this run minus the creates).
read -r NDOCS BAD OPS CREATES < <(bench_sql "SELECT count(*),
    count(*) FILTER (WHERE o.n IS DISTINCT FROM d.version OR o.lo IS DISTINCT FROM 0 OR o.hi IS DISTINCT FROM d.version - 1),
    coalesce(sum(o.n), 0), coalesce(sum(o.creates), 0)
  FROM collab.documents d
  LEFT JOIN (SELECT collection, id, count(*) n, min(version) lo, max(version) hi,
                    count(*) FILTER (WHERE op ? 'create') creates
             FROM collab.ops GROUP BY 1, 2) o USING (collection, id)
  WHERE d.collection = 'bench'" | tr '|' ' ')
ACKED=$(node -e 'console.log(require(process.argv[1]).wireAckedTotal)' "$OUT/totals.json" 2>/dev/null || echo '?')
if ((NDOCS == DOCS && BAD == 0)); then
  check ok "op-log contiguous: $NDOCS/$DOCS documents have versions 0..version-1 ($OPS ops, $CREATES creates)"
else
  check FAIL "op-log: $NDOCS documents (expected $DOCS), $BAD with missing or extra versions"
fi
if [[ $ACKED == "$((OPS - CREATES))" ]]; then
  check ok "wire ops acked by the clients ($ACKED) = op-log growth ($OPS ops - $CREATES creates)"
else
  check FAIL "wire ops acked by the clients ($ACKED) != op-log growth ($OPS ops - $CREATES creates = $((OPS - CREATES)))"
fi

# --- summary and plot ----------------------------------------------------------------------------------------------------------
info "summary"
node "$HERE/summary.js" "$OUT" "$WARMUP" "$FLAT_PCT" "$FLAT_MIB" "$SECS" || check FAIL "summary.js failed"
gnuplot -e "dir='$OUT'; warmup=$WARMUP; secs=$SECS" "$HERE/soak.gp" 2>"$OUT/gnuplot.log" && [[ -s $OUT/soak.png ]] ||
  check FAIL "gnuplot failed: $(head -3 "$OUT/gnuplot.log")"
{ echo; echo "checks:"; sed 's/^/  /' "$OUT/checks.txt"; } >>"$OUT/summary.txt"
printf 'load average at the end: %s\n' "$(bench_load)" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
((FAIL == 0)) || { printf 'bench/soak/run.sh: the run FAILED (see checks above)\n' >&2; exit 1; }
printf 'plot: %s/soak.png\n' "$OUT"
