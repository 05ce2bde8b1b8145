#!/usr/bin/env bash
# Fails when a sanitizer reported anything in bridge logs: "ERROR: AddressSanitizer", UBSan's "runtime error:" or a
# LeakSanitizer report. Independent of the e2e harness: give it log files or directories (default tests/e2e/logs).
#
#   tests/fuzz/check-asan-logs.sh [--newer FILE] [LOG_OR_DIR...]
#
# --newer FILE checks only logs modified after FILE (logs of one run in a shared directory). A bridge killed with
# SIGKILL (some e2e tests do it on purpose) writes no leak report: a missing report is not counted, only reports.
# Prints each report's first lines; exit 0 when clean, 1 when a report was found, 2 on bad usage.
set -euo pipefail

newer=()
if [[ ${1:-} == --newer ]]; then
  [[ -e ${2:-} ]] || { echo "usage: $0 [--newer FILE] [LOG_OR_DIR...]" >&2; exit 2; }
  newer=(-newer "$2")
  shift 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
targets=("$@")
((${#targets[@]} > 0)) || targets=("$here/../e2e/logs")

mapfile -t logs < <(find "${targets[@]}" -type f -name '*.log' "${newer[@]}" 2>/dev/null | sort)
if ((${#logs[@]} == 0)); then
  echo "check-asan-logs: no bridge logs found in ${targets[*]}: nothing ran, or the logs went elsewhere" >&2
  exit 1
fi
pattern='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
bad=0
for f in "${logs[@]}"; do
  if grep -aqE "$pattern" "$f"; then
    bad=$((bad + 1))
    echo "== $f" >&2
    grep -anE -A12 "$pattern" "$f" | head -40 >&2
  fi
done
echo "check-asan-logs: ${#logs[@]} log(s) checked, $bad with sanitizer reports"
((bad == 0))
