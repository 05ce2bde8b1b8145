#!/usr/bin/env bash
# Replays an editing trace through pg_collab's SQL API (collab.create_doc, collab.submit, collab.fetch) and checks that
# the final snapshot equals the trace's endContent. The work is done by tests/trace/sql_replay.sql inside one psql
# session: the trace is loaded into a temporary table and a PL/pgSQL procedure submits the ops, committing in batches.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)

usage() {
  cat <<'EOF'
Usage: tests/trace/sql_replay.sh [--trace FILE] [--batch N]

Replays an editing trace (default: $SHARED_DIR/traces/friendsforever_flat.json.gz) through collab.submit, one op per
patch on top of the previous one, into a new text-unicode document, then compares collab.fetch with endContent.
Prints the number of ops, the seconds taken, ops/s, and PASS or FAIL; exits 1 on a mismatch or an error.

  --trace FILE  gzipped trace JSON {startContent, endContent, txns: [{patches: [[pos, delCount, insText]]}]}
  --batch N     commit every N ops (default 1000)
  --help        this text

Environment:
  SHARED_DIR    the folder with traces/ (default: REPO/../shared)
  PGHOST, PGPORT, PGUSER, PGDATABASE
                the database to use; when neither PGHOST nor PGPORT is set, the `test` cluster of
                scripts/pg-cluster.sh. The extension is created there unless the schema collab exists.
EOF
}

shared=${SHARED_DIR:-$repo/../shared}
trace=
batch=1000
while [[ $# -gt 0 ]]; do
  case $1 in
    --trace) [[ $# -ge 2 ]] || { echo "error: --trace needs a file" >&2; exit 2; }; trace=$2; shift 2 ;;
    --batch) [[ $# -ge 2 ]] || { echo "error: --batch needs a number" >&2; exit 2; }; batch=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
trace=${trace:-$shared/traces/friendsforever_flat.json.gz}
[[ $batch =~ ^[1-9][0-9]{0,6}$ ]] || { echo "error: --batch must be a whole number from 1 to 9999999, not '$batch'" >&2; exit 2; }
[[ -r $trace ]] || {
  echo "error: trace $trace not found or not readable: set SHARED_DIR to the folder that holds traces/ (or pass --trace)" >&2
  exit 1
}
gzip -t "$trace" 2>/dev/null || { echo "error: $trace is not a valid gzip file" >&2; exit 1; }

if [[ -z ${PGHOST:-} && -z ${PGPORT:-} ]]; then
  cluster_env=$("$repo/scripts/pg-cluster.sh" --name test env)
  eval "$cluster_env"
fi
psql=(psql -X -q -At -F '|' -v ON_ERROR_STOP=1)
if ! "${psql[@]}" -c 'select 1' >/dev/null; then
  echo "error: cannot connect to PostgreSQL (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGDATABASE=${PGDATABASE:-}): start the test cluster with 'scripts/pg-cluster.sh --name test start', or set PGHOST/PGPORT" >&2
  exit 1
fi

name=$(basename "$trace" .json.gz)
collection=sql_replay
docid=$name-$(date +%Y%m%dT%H%M%S)-$$
echo "sql_replay: replaying $trace into document $collection/$docid (commit every $batch ops)"

out=$(gunzip -c "$trace" |
  "${psql[@]}" -v coll="$collection" -v docid="$docid" -v batch="$batch" -f "$here/sql_replay.sql") || {
  printf '%s\n' "$out"
  echo "sql_replay: FAIL: psql stopped with the error above"
  exit 1
}

result=$(grep '^RESULT|' <<<"$out") || {
  printf '%s\n' "$out"
  echo "sql_replay: FAIL: sql_replay.sql printed no RESULT line (output above)"
  exit 1
}
IFS='|' read -r _ ops empty seconds rate version match length <<<"$result"
skipped=
((empty == 0)) || skipped=" ($empty patches without a change left out)"
echo "sql_replay: $name: $ops ops in $seconds s, $rate ops/s, document at version $version$skipped"
# The create is version 0 and leaves the document at version 1; each op adds one.
expected_version=$((ops + 1))
if [[ $match == t && $version == "$expected_version" ]]; then
  echo "sql_replay: PASS: the snapshot equals endContent ($length code points)"
  exit 0
fi
if [[ $match != t ]]; then
  IFS='|' read -r _ at want_len got_len want got <<<"$(grep '^MISMATCH|' <<<"$out")"
  echo "sql_replay: FAIL: the snapshot differs from endContent at code point $at (expected length $want_len, got $got_len)"
  echo "  expected: $want"
  echo "  actual:   $got"
else
  echo "sql_replay: FAIL: the document is at version $version, expected $expected_version (1 + $ops ops)"
fi
exit 1
