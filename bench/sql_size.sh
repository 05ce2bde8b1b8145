#!/usr/bin/env bash
# SQL benchmark: does the per-op cost of collab.submit grow with document size? Compares submits to 1 MiB documents
# with the same submits to 1 KiB documents, in the same run on the same private cluster.
#
# BENCH_TYPE=text-unicode (default): documents of 1,048,576 and 1,024 random ASCII letters and spaces (so the
# checkpoints do not compress to nothing). Op: replace 3 characters at a random position ([pos, "abc", {"d": 3}]:
# insert 3, delete 3).
# BENCH_TYPE=json0: documents {"items": [{"n": 0, "s": "<40 random letters>"}, ...]} of about 1 MiB (19,000 items)
# and 1 KiB (19 items) of JSON. Op: on a random item, add 1 to n, insert "abc" at a random position of s and delete it
# again ([{"p": ["items", i, "n"], "na": 1}, {"p": ["items", i, "s", pos], "si": "abc"}, {"p": [...], "sd": "abc"}]).
# The 1 KiB documents are below pg_collab.live_data_max_size, so each of their ops also rewrites collab.documents.data;
# the 1 MiB ones get it refreshed with their checkpoints.
#
# One op per transaction (autocommit) at the document's current version (base_version NULL). The ops keep the sizes
# constant over the run.
# Client k works on its own document k (1 client: one document per size; 8 clients: eight), so clients never wait for
# each other's row locks and the figure is the per-op cost, not lock contention.
#
# The runs are long enough to include snapshot checkpoints (every pg_collab.checkpoint_interval = 1000 ops, or when the
# ops since the last checkpoint outgrow the snapshot): the number written during each run is printed. A checkpoint of
# a 1 MiB document writes 1 MiB; amortized over 1000 ops it must stay small next to the cost of a commit.
#
# Prints tps per run and the ratio of per-op cost (1 MiB / 1 KiB = tps 1 KiB / tps 1 MiB) for 1 and 8 clients; the
# issue's target is <= 1.25. Rounds alternate which size runs first. The same ratio is also given by the server's CPU
# time per op (all processes of the cluster), which varies far less than tps when other jobs share the machine (it
# leaves out time spent waiting for the disk). Nothing is asserted.
#
# The cluster is private (under /tmp, unix socket only) with PostgreSQL's default durable settings (fsync on,
# synchronous_commit on); it is stopped and deleted at the end. Needs the extension installed (make install).
#
# Environment:
#   BENCH_SECONDS   seconds per pgbench run (default 20)
#   BENCH_ROUNDS    rounds of (1 KiB, 1 MiB) runs per client count (default 2)
#   BENCH_CLIENTS   client counts to run, space-separated (default "1 8"; -j is min(2, clients))
#   BENCH_TYPE      text-unicode (default) or json0
#   BENCH_KEEP=1    keep the cluster directory (with server.log and the pgbench outputs)
set -euo pipefail
# shellcheck source=bench/cluster.bash
source "$(dirname "${BASH_SOURCE[0]}")/cluster.bash"

seconds=${BENCH_SECONDS:-20}
rounds=${BENCH_ROUNDS:-2}
client_counts=${BENCH_CLIENTS:-1 8}
type=${BENCH_TYPE:-text-unicode}
case $type in
text-unicode)
  small_len=1024 big_len=1048576 # characters
  unit=characters size_expr="length(f.data #>> '{}')"
  ;;
json0)
  small_len=19 big_len=19000 # items of about 55 bytes
  unit=items size_expr="jsonb_array_length(f.data->'items')"
  ;;
*) bench_die "BENCH_TYPE must be text-unicode or json0, not '$type'" ;;
esac

for v in seconds rounds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || bench_die "$v must be a positive integer, not '${!v}'"
done
max_clients=0
for c in $client_counts; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_CLIENTS must list positive integers, not '$client_counts'"
  ((c > max_clients)) && max_clients=$c
done
((max_clients > 0)) || bench_die "BENCH_CLIENTS is empty"

bench_cluster_start

echo "== bench/sql_size.sh: collab.submit on 1 MiB vs 1 KiB $type documents"
bench_print_machine
if [[ $type == json0 ]]; then
  what='na + si + sd on a random list item'
else
  what='replace 3 characters at a random position'
fi
printf 'workload:   %s, one op per transaction, clients: %s, %s s per run,\n' "$what" "$client_counts" "$seconds"
printf '            %s round(s), -M prepared, one document per client\n' "$rounds"

# Random letters and spaces, generated in SQL; every document gets its own text.
bench_sql "
  CREATE FUNCTION pg_temp.random_text(n int) RETURNS text LANGUAGE sql AS
    \$\$ SELECT string_agg(substr('abcdefghijklmnopqrstuvwxyz     ', 1 + (random() * 30)::int % 31, 1), '')
           FROM generate_series(1, n) \$\$;
  CREATE FUNCTION pg_temp.initial(n int) RETURNS jsonb LANGUAGE sql AS
    \$\$ SELECT CASE WHEN '$type' = 'json0'
                   THEN jsonb_build_object('items', (SELECT jsonb_agg(jsonb_build_object('n', 0, 's',
                                                            pg_temp.random_text(40))) FROM generate_series(1, n)))
                   ELSE to_jsonb(pg_temp.random_text(n)) END \$\$;
  SELECT count(collab.create_doc('size', 'small-' || k, '$type', pg_temp.initial($small_len)))
    FROM generate_series(0, $max_clients - 1) k;
  SELECT count(collab.create_doc('size', 'big-' || k, '$type', pg_temp.initial($big_len)))
    FROM generate_series(0, $max_clients - 1) k;
  VACUUM ANALYZE;
  CHECKPOINT;" >/dev/null
bench_sql "
  SELECT format('documents:  %s x %s $unit (%s bytes as JSON), %s x %s $unit (%s bytes as JSON)',
                count(*) FILTER (WHERE small), min(chars) FILTER (WHERE small), min(bytes) FILTER (WHERE small),
                count(*) FILTER (WHERE NOT small), min(chars) FILTER (WHERE NOT small),
                min(bytes) FILTER (WHERE NOT small))
    FROM (SELECT d.id LIKE 'small-%' AS small, $size_expr AS chars, length(f.data::text) AS bytes
            FROM collab.documents d CROSS JOIN LATERAL collab.fetch(d.collection, d.id) f
           WHERE d.collection = 'size') s"

for kind in small big; do
  len_var=${kind}_len
  if [[ $type == json0 ]]; then
    cat >"$BENCH_DIR/$kind.sql" <<EOF
\\set item random(0, ${!len_var} - 1)
\\set pos random(0, 40)
SELECT version FROM collab.submit('size', '$kind-' || :client_id::text, NULL,
  jsonb_build_array(jsonb_build_object('p', jsonb_build_array('items', :item::int, 'n'), 'na', 1),
                    jsonb_build_object('p', jsonb_build_array('items', :item::int, 's', :pos::int), 'si', 'abc'),
                    jsonb_build_object('p', jsonb_build_array('items', :item::int, 's', :pos::int), 'sd', 'abc')));
EOF
  else
    cat >"$BENCH_DIR/$kind.sql" <<EOF
\\set pos random(1, ${!len_var} - 3)
SELECT version FROM collab.submit('size', '$kind-' || :client_id::text, NULL,
                                  jsonb_build_array(:pos::int, 'abc'::text, jsonb_build_object('d', 3)));
EOF
  fi
done

checkpoints() { bench_sql "SELECT count(*) FROM collab.snapshots WHERE collection = 'size' AND id LIKE '$1-%'"; }

run() { # run KIND CLIENTS; sets <KIND>_tps and <KIND>_cpu
  local before after
  before=$(checkpoints "$1")
  bench_pgbench "$1-c$2" "$2" "$seconds" "$BENCH_DIR/$1.sql"
  after=$(checkpoints "$1")
  printf '  %-5s %9s tps   latency %7s ms   %7s ops   %4s checkpoints   server CPU %5s us/op\n' \
    "$([[ $1 == small ]] && echo 1KiB || echo 1MiB)" "$BENCH_TPS" "$BENCH_LAT_MS" "$BENCH_TXNS" \
    "$((after - before))" "$BENCH_CPU_US"
  printf -v "$1_tps" '%s' "$BENCH_TPS"
  printf -v "$1_cpu" '%s' "$BENCH_CPU_US"
}
mean() { awk -v s="$1" -v n="$rounds" 'BEGIN { if (s == "invalid") print s; else printf "%.1f", s / n }'; }

summary=()
small_tps='' big_tps='' small_cpu='' big_cpu=''
for c in $client_counts; do
  small_all=() big_all=() small_cpu_all=() big_cpu_all=()
  for ((r = 1; r <= rounds; r++)); do
    echo "clients $c, round $r:"
    if ((r % 2 == 1)); then
      run small "$c"
      run big "$c"
    else
      run big "$c"
      run small "$c"
    fi
    small_all+=("$small_tps") big_all+=("$big_tps") small_cpu_all+=("$small_cpu") big_cpu_all+=("$big_cpu")
    printf '  per-op cost ratio 1MiB / 1KiB: %s by tps, %s by server CPU\n' "$(bench_ratio "$small_tps" "$big_tps")" \
      "$(bench_ratio "$big_cpu" "$small_cpu")"
  done
  small_sum=$(bench_sum "${small_all[@]}") big_sum=$(bench_sum "${big_all[@]}")
  small_cpu_sum=$(bench_sum "${small_cpu_all[@]}") big_cpu_sum=$(bench_sum "${big_cpu_all[@]}")
  summary+=("$(printf '  clients %-2s  1KiB %9s tps %6s us/op   1MiB %9s tps %6s us/op   ' \
    "$c" "$(mean "$small_sum")" "$(mean "$small_cpu_sum")" "$(mean "$big_sum")" "$(mean "$big_cpu_sum")"
    printf 'per-op cost ratio 1MiB / 1KiB: %s by tps, %s by server CPU   (target <= 1.25)' \
      "$(bench_ratio "$small_sum" "$big_sum")" "$(bench_ratio "$big_cpu_sum" "$small_cpu_sum")")")
done

echo "documents after the runs (information, not asserted):"
bench_sql "
  SELECT format('  %s: version %s, %s $unit (was %s); versions 0..n without gaps: %s', d.id, f.version,
                $size_expr, CASE WHEN d.id LIKE 'small-%' THEN $small_len ELSE $big_len END,
                (SELECT count(*) = max(o.version) + 1 AND min(o.version) = 0
                   FROM collab.ops o WHERE o.collection = d.collection AND o.id = d.id))
    FROM collab.documents d CROSS JOIN LATERAL collab.fetch(d.collection, d.id) f
   WHERE d.collection = 'size' AND d.id IN ('small-0', 'big-0')
   ORDER BY d.id DESC"
echo "summary (means of $rounds runs each):"
printf '%s\n' "${summary[@]}"
printf 'load at the end: %s (1, 5, 15 min)\n' "$(bench_load)"
