#!/usr/bin/env bash
# Runs collab-bridge under valgrind (memcheck) with a short load, stops it with SIGTERM (graceful drain) and fails
# unless valgrind reports zero errors and zero definitely / indirectly lost bytes. "Still reachable" memory of the
# libraries is not an error. Suppressions (third-party only, each justified): tests/fuzz/valgrind.supp.
#
#   PGHOST=... PGPORT=... PGUSER=... scripts/valgrind-bridge.sh [BRIDGE_BINARY]
#
# BRIDGE_BINARY defaults to build/collab-bridge (make bridge); VALGRIND_BRIDGE_ARGS adds bridge options. The load (tests/fuzz/valgrind-load.js, on the e2e
# harness, so tests/e2e/node_modules is needed: npm ci --prefix tests/e2e) is CLIENTS stock sharedb clients
# (VALGRIND_CLIENTS, default 4) editing text-unicode and json0 documents for VALGRIND_LOAD_SECONDS (default 20),
# plus malformed messages, presence and GET /docs. It uses the database VALGRIND_DATABASE (default `valgrind`,
# dropped and created; the role collab_e2e_bridge as the e2e suite). valgrind's report: build/valgrind/bridge.<pid>.log.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
bridge=$(realpath "${1:-$repo/build/collab-bridge}")
out=$repo/build/valgrind
error_exit=99

die() {
  printf 'valgrind-bridge: %s\n' "$*" >&2
  exit 2
}
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
[[ -x $bridge ]] || die "$bridge not found: make bridge"
for v in PGHOST PGPORT PGUSER; do [[ -n ${!v:-} ]] || die "$v is not set: point PGHOST/PGPORT/PGUSER at a cluster"; done
[[ -d $repo/tests/e2e/node_modules ]] || npm ci --prefix "$repo/tests/e2e" --no-audit --no-fund

rm -rf "$out"
mkdir -p "$out"
# The harness spawns COLLAB_BRIDGE_BIN with the bridge's arguments: a wrapper that execs valgrind (same pid, so the
# harness's SIGTERM reaches the bridge).
cat >"$out/collab-bridge" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \\
  --errors-for-leak-kinds=definite,indirect --error-exitcode=$error_exit --track-origins=yes --num-callers=40 \\
  --suppressions="$repo/tests/fuzz/valgrind.supp" --log-file="$out/bridge.%p.log" "$bridge" "\$@"
WRAP
chmod +x "$out/collab-bridge"

echo "valgrind-bridge: $bridge under valgrind, load ${VALGRIND_LOAD_SECONDS:-20} s; reports in $out/" >&2
rc=0
COLLAB_BRIDGE_BIN=$out/collab-bridge E2E_DATABASE=${VALGRIND_DATABASE:-valgrind} E2E_GUARD_MS=${E2E_GUARD_MS:-120000} \
  node "$repo/tests/fuzz/valgrind-load.js" || rc=$?

# The bridge's own run is the log with the most lines (valgrind also writes one per `--help` check, if any).
log=$(ls -S "$out"/bridge.*.log 2>/dev/null | head -1)
[[ -n $log ]] || die "no valgrind log in $out"
sed -n '/HEAP SUMMARY/,$p' "$log" >&2
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
indirect=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
if grep -q "All heap blocks were freed" "$log"; then definite=0 indirect=0; fi
echo "valgrind-bridge: load exit $rc; errors ${errors:-?}, definitely lost ${definite:-?} B, indirectly lost ${indirect:-?} B ($log)"
if [[ $rc -ne 0 || ${errors:-x} != 0 || ${definite:-x} != 0 || ${indirect:-x} != 0 ]]; then
  echo "valgrind-bridge: FAILED" >&2
  exit 1
fi
echo "valgrind-bridge: OK (0 errors, no definite or indirect leaks)"
