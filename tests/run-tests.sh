#!/bin/sh
# Runs every test binary given, counts cmocka's per-test results, and ends
# with the one summary line "N passed, N failed".  A binary that crashes or
# times out without a cmocka summary counts as one failure.
# TEST_TIMEOUT (seconds, default 600) bounds each binary.
passed=0; failed=0
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "$@"; do
  echo "== $t"
  timeout "${TEST_TIMEOUT:-600}" "$t" >"$out" 2>&1; rc=$?
  cat "$out"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | tail -n 1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $t exited with status $rc"; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
