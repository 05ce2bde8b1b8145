#!/usr/bin/env bash
# Core benchmark (issue 5): json0 apply and transform throughput for typical small ops on a ~100 KB JSON document,
# C++ core (build/json0-bench, bench/json0_bench.cpp) against npm ot-json0 1.1.0 in Node
# (bench/json0_bench_node.js), in the same run on the same machine. Target: the C++ core at least 10x faster.
#
# Both programs generate the same document and op sequence from the same seed (see the header of
# bench/json0_bench_node.js), time (a) apply of the whole sequence and (b) transform of every op against a concurrent
# op, both sides, and print medians; and (a') "apply from JSON text": (a) with each op given as its JSON text and the
# parse inside the timed loop (Node: JSON.parse then type.apply; C++: json0::parse_op(text) then json0::apply). In (a)
# and (b) the C++ ops are parsed to the typed form (json0::Op) once before timing, as Node's ops are JavaScript objects
# already, and apply edits the typed document (json0::Value) in place. The script fails (exit status 1) unless both
# printed the same hashes of the op sequence, of the final document (canonical JSON; both apply measurements check
# it) and of all transform results. Nothing is asserted on speed.
#
# Builds what it needs with `make json0-bench` (build/json0-bench, and `npm ci` in tests/diff if ot-json0 is missing).
#
# Environment:
#   BENCH_JSON0_OPS      ops in the sequence (default 100000)
#   BENCH_JSON0_REPEAT   timed runs after one warm-up run, median printed (default 5)
#   BENCH_JSON0_SEED     generator seed (default 1)
#   NODE                 node executable (default node)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ops=${BENCH_JSON0_OPS:-100000}
repeat=${BENCH_JSON0_REPEAT:-5}
seed=${BENCH_JSON0_SEED:-1}
node=${NODE:-node}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
for v in ops repeat seed; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done

cd "$repo"
make --no-print-directory json0-bench >&2 || die "make json0-bench failed (errors above)"

echo "== bench/json0.sh: json0 apply / transform, C++ core against npm ot-json0 in Node"
# shellcheck disable=SC1091 # /etc/os-release is read at run time
printf 'machine:    %s cores, %s, %s, load %s\n' "$(nproc)" \
  "$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)" "$(uname -r)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'node:       %s, ot-json0 %s\n' "$("$node" --version)" \
  "$("$node" -p "require('./tests/diff/node_modules/ot-json0/package.json').version")"
printf 'workload:   %s ops, seed %s, median of %s runs after a warm-up run\n' "$ops" "$seed" "$repeat"

cpp_out=$(build/json0-bench --ops "$ops" --repeat "$repeat" --seed "$seed") || die "build/json0-bench failed"
echo "C++:  $cpp_out"
node_out=$("$node" bench/json0_bench_node.js --ops "$ops" --repeat "$repeat" --seed "$seed") ||
  die "bench/json0_bench_node.js failed"
echo "Node: $node_out"

field() { # field NAME LINE
  sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}

status=0
for f in doc_bytes final_bytes ops_hash doc_hash xform_hash; do
  c=$(field "$f" "$cpp_out")
  n=$(field "$f" "$node_out")
  if [[ -z $c || $c != "$n" ]]; then
    printf 'MISMATCH: %s C++=%s Node=%s\n' "$f" "$c" "$n" >&2
    status=1
  fi
done
((status == 0)) || die "the C++ core and ot-json0 disagree (see above): the figures below compare different work"
printf 'check:      same ops (%s), same final document (%s bytes, hash %s), same transform results (%s)\n' \
  "$(field ops_hash "$cpp_out")" "$(field final_bytes "$cpp_out")" "$(field doc_hash "$cpp_out")" \
  "$(field xform_hash "$cpp_out")"

awk -v ca="$(field apply_ops_s "$cpp_out")" -v na="$(field apply_ops_s "$node_out")" \
  -v ct="$(field apply_text_ops_s "$cpp_out")" -v nt="$(field apply_text_ops_s "$node_out")" \
  -v cx="$(field xform_s "$cpp_out")" -v nx="$(field xform_s "$node_out")" -v docb="$(field doc_bytes "$cpp_out")" '
  function row(what, c, n,   r) {
    r = c / n
    printf "%-34s %14.0f %14.0f %8.2fx   %s\n", what, c, n, r, (r >= 10 ? "met" : "NOT met")
  }
  BEGIN {
    if (ca <= 0 || na <= 0 || ct <= 0 || nt <= 0 || cx <= 0 || nx <= 0) exit 1
    printf "%-34s %14s %14s %9s   %s\n", "json0 on a " docb " byte document", "C++", "Node", "C++/Node", "target >= 10x"
    row("apply (ops/s)", ca, na)
    row("transform (transforms/s)", cx, nx)
    printf "%-34s %14.0f %14.0f %8.2fx   %s\n", "apply from JSON text (ops/s)", ct, nt, ct / nt, "(no target)"
  }'
