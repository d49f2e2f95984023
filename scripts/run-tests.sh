#!/usr/bin/env bash
# Runs the whole ava suite with TAP output, keeps the full log, and ends with
# the one-line totals CI reads: "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
# The project's own Node 24 and tools, also when called outside make.
export PATH="$PWD/node_modules/.bin:$PATH"
log_dir=${TEST_LOG_DIR:-.tmp}
mkdir -p "$log_dir"
log="$log_dir/test.tap"

NODE_ENV=test ava --tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() { sed -nE "s/^# $1 ([0-9]+)\$/\\1/p" "$log" | tail -n 1; }
passed=$(count pass); failed=$(count fail); skipped=$(count skip)
# A suite that crashed before printing totals counts as one failure.
if [[ -z "$passed" || -z "$failed" ]]; then
  passed=${passed:-0}; failed=$(( ${failed:-0} + 1 ))
  echo "ava ended without printing its totals (exit $status)" >&2
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
line="$passed passed, $failed failed"
[[ -n "$skipped" && "$skipped" != 0 ]] && line="$line, $skipped skipped"
echo "$line"
exit "$status"
