#!/usr/bin/env bash
# The whole suite on other dates, under Debian's faketime: a winter night in the heating season and a
# summer afternoon, one on each side of the 2026-03-01 switch to HJ 633-2026 and GB 3095-2026, both in
# the past so that servers that judge a sample's age (they keep the real clock) still take the data.
# Usage: npm run test:dates [-- 'YYYY-MM-DD hh:mm:ss' ...]
set -uo pipefail
cd "$(dirname "$0")/.."
command -v faketime >/dev/null || { echo "faketime is not installed: apt-get install faketime" >&2; exit 2; }
dates=("$@")
[ ${#dates[@]} -gt 0 ] || dates=('2026-01-15 03:00:00' '2026-07-15 14:00:00')
failed=0
for d in "${dates[@]}"; do
  echo "== npm test at $d"
  if faketime "$d" npm test; then echo "== $d: passed"; else echo "== $d: FAILED"; failed=1; fi
done
exit $failed
