#!/usr/bin/env bash
# SQL benchmark: ops per second committed by collab.submit, against a reference that does the same database work
# without OT, measured in the same run on the same private cluster.
#
#   collab.submit  one op per transaction (autocommit): a small insert ([pos, "x"], pos random in 1..length of the
#                  initial text) into a random document at its current version (base_version NULL), on BENCH_DOCS
#                  text-unicode documents created beforehand.
#   reference      one statement per transaction: lock the document row and bump its version
#                  (UPDATE ... RETURNING), INSERT the op row into an op-log table, pg_notify('collab', payload).
#                  Same round trips (one per transaction), same row lock, same kind of insert, one NOTIFY; no OT, no
#                  document state, no duplicate check.
#
# Prints tps for both, per round, and the ratio collab / reference (the issue's target is >= 0.8). Rounds alternate
# which of the two runs first, so that a slow phase of a shared machine hurts both alike. It also prints the server's
# CPU time per transaction (all processes of the cluster), which varies far less than tps when other jobs share the
# machine. Nothing is asserted. Each pgbench run opens new connections, so every backend starts with an empty
# document cache and loads each document the first time it touches it (replaying the ops since its last checkpoint).
#
# The cluster is private (under /tmp, unix socket only) with PostgreSQL's default durable settings (fsync on,
# synchronous_commit on); it is stopped and deleted at the end. Needs the extension installed (make install).
#
# Environment:
#   BENCH_SECONDS   seconds per pgbench run (default 20)
#   BENCH_ROUNDS    rounds of (collab, reference) runs (default 2)
#   BENCH_WARMUP_SECONDS  seconds of each workload before the measured rounds, not counted (default 10; 0: none)
#   BENCH_CLIENTS   pgbench clients (default 8; -j is 2)
#   BENCH_DOCS      documents (default 1000)
#   BENCH_DOC_PICK  random: each transaction picks any document (default; two clients sometimes hit the same
#                   document and the second waits for the first's row lock);
#                   disjoint: client k only uses documents k, k + clients, k + 2*clients, ... (no two clients ever
#                   contend for a document)
#   BENCH_KEEP=1    keep the cluster directory (with server.log and the pgbench outputs)
set -euo pipefail
# shellcheck source=bench/cluster.bash
source "$(dirname "${BASH_SOURCE[0]}")/cluster.bash"

seconds=${BENCH_SECONDS:-20}
rounds=${BENCH_ROUNDS:-2}
warmup=${BENCH_WARMUP_SECONDS:-10}
clients=${BENCH_CLIENTS:-8}
docs=${BENCH_DOCS:-1000}
pick=${BENCH_DOC_PICK:-random}
initial_text='lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore'
initial_len=${#initial_text}

for v in seconds rounds clients docs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
[[ $warmup =~ ^[0-9]+$ ]] || bench_die "BENCH_WARMUP_SECONDS must be a number of seconds, not '$warmup'"
case $pick in
  random) pick_expr="random(1, $docs)" ;;
  disjoint)
    ((docs >= clients)) || bench_die "BENCH_DOC_PICK=disjoint needs BENCH_DOCS >= BENCH_CLIENTS"
    pick_expr="1 + :client_id + $clients * random(0, $((docs / clients - 1)))"
    ;;
  *) bench_die "BENCH_DOC_PICK must be random or disjoint, not '$pick'" ;;
esac

bench_cluster_start

echo "== bench/sql_submit.sh: collab.submit vs row lock + INSERT + NOTIFY (no OT)"
bench_print_machine
printf 'workload:   %s clients (-j 2), %s documents, document pick %s, %s s per run, %s round(s), -M prepared\n' \
  "$clients" "$docs" "$pick" "$seconds" "$rounds"

bench_sql "
  SELECT count(collab.create_doc('bench', 'd' || i, 'text-unicode', to_jsonb('$initial_text'::text)))
    FROM generate_series(1, $docs) i;
  CREATE TABLE ref_docs (id int PRIMARY KEY, version bigint NOT NULL);
  CREATE TABLE ref_ops (doc int, version bigint, op jsonb NOT NULL, PRIMARY KEY (doc, version));
  INSERT INTO ref_docs SELECT i, 1 FROM generate_series(1, $docs) i;
  VACUUM ANALYZE;
  CHECKPOINT;" >/dev/null

cat >"$BENCH_DIR/collab.sql" <<EOF
\\set id $pick_expr
\\set pos random(1, $initial_len)
SELECT version FROM collab.submit('bench', 'd' || :id::text, NULL, jsonb_build_array(:pos::int, 'x'::text));
EOF
cat >"$BENCH_DIR/reference.sql" <<EOF
\\set id $pick_expr
\\set pos random(1, $initial_len)
WITH d AS (UPDATE ref_docs SET version = version + 1 WHERE id = :id RETURNING id, version),
     o AS (INSERT INTO ref_ops (doc, version, op)
           SELECT id, version - 1, jsonb_build_array(:pos::int, 'x'::text) FROM d RETURNING doc, version)
SELECT pg_notify('collab', json_build_object('c', 'bench', 'd', 'd' || doc, 'v', version + 1)::text) FROM o;
EOF

# Warm-up: a freshly created op-log has statistics that say its partitions are nearly empty, and the plans cached
# by the first backends keep (for example) sequential scans of partitions that then grow. Run both workloads briefly,
# then ANALYZE, so that the measured runs see tables of a realistic size with current statistics.
if ((warmup > 0)); then
  bench_pgbench warmup-reference "$clients" "$warmup" "$BENCH_DIR/reference.sql"
  bench_pgbench warmup-collab "$clients" "$warmup" "$BENCH_DIR/collab.sql"
  bench_sql "VACUUM ANALYZE; CHECKPOINT;" >/dev/null
  printf 'warm-up:    %s s of each workload, then VACUUM ANALYZE and CHECKPOINT (not counted)\n' "$warmup"
fi

ops_before=$(bench_sql "SELECT count(*) FROM collab.ops WHERE collection = 'bench'")
collab_all=()
ref_all=()
collab_cpu_all=()
ref_cpu_all=()
collab_txns=0
run() { # run NAME SCRIPT
  bench_pgbench "$1" "$clients" "$seconds" "$2"
  printf '  %-9s %10s tps   latency %6s ms   %8s transactions   server CPU %5s us/transaction\n' \
    "$1" "$BENCH_TPS" "$BENCH_LAT_MS" "$BENCH_TXNS" "$BENCH_CPU_US"
  if [[ $1 == collab ]]; then
    collab_tps=$BENCH_TPS collab_cpu=$BENCH_CPU_US collab_txns=$((collab_txns + BENCH_TXNS))
  else
    ref_tps=$BENCH_TPS ref_cpu=$BENCH_CPU_US
  fi
}
for ((r = 1; r <= rounds; r++)); do
  echo "round $r:"
  if ((r % 2 == 1)); then
    run reference "$BENCH_DIR/reference.sql"
    run collab "$BENCH_DIR/collab.sql"
  else
    run collab "$BENCH_DIR/collab.sql"
    run reference "$BENCH_DIR/reference.sql"
  fi
  collab_all+=("$collab_tps")
  ref_all+=("$ref_tps")
  collab_cpu_all+=("$collab_cpu")
  ref_cpu_all+=("$ref_cpu")
  printf '  ratio collab / reference: %s tps; server CPU per transaction: %s\n' \
    "$(bench_ratio "$collab_tps" "$ref_tps")" "$(bench_ratio "$collab_cpu" "$ref_cpu")"
done

collab_sum=$(bench_sum "${collab_all[@]}")
ref_sum=$(bench_sum "${ref_all[@]}")
collab_cpu_sum=$(bench_sum "${collab_cpu_all[@]}")
ref_cpu_sum=$(bench_sum "${ref_cpu_all[@]}")
echo "op-log after the runs (information, not asserted):"
bench_sql "
  SELECT format('  collab: %s ops committed by the measured runs (pgbench counted %s); '
                || 'documents whose versions are not 0..n without gaps: %s', count(*) - $ops_before, $collab_txns,
                (SELECT count(*) FROM (SELECT id FROM collab.ops WHERE collection = 'bench' GROUP BY id
                                        HAVING count(*) <> max(version) + 1 OR min(version) <> 0) g))
    FROM collab.ops WHERE collection = 'bench'"
mean() { awk -v s="$1" -v n="$rounds" 'BEGIN { if (s == "invalid") print s; else printf "%.1f", s / n }'; }
echo "summary (means of $rounds runs each):"
printf '  collab.submit  %9s tps   server CPU %6s us/transaction\n' "$(mean "$collab_sum")" "$(mean "$collab_cpu_sum")"
printf '  reference      %9s tps   server CPU %6s us/transaction\n' "$(mean "$ref_sum")" "$(mean "$ref_cpu_sum")"
printf '  ratio collab / reference: %s tps   (target >= 0.8)\n' "$(bench_ratio "$collab_sum" "$ref_sum")"
printf '  ratio collab / reference: %s server CPU per transaction\n' "$(bench_ratio "$collab_cpu_sum" "$ref_cpu_sum")"
printf 'load at the end: %s (1, 5, 15 min)\n' "$(bench_load)"
