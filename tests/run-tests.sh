#!/bin/sh
# Runs every test binary given, counts cmocka's per-test results, and ends
# with the one summary line "N passed, N failed".  A binary that crashes or
# times out without a cmocka summary counts as one failure.
# TEST_TIMEOUT (seconds, default 600) bounds each binary.
# BOTH_BACKENDS (issue #16): names of integration binaries (itest_cleanup
# ...) that run a second time with DC_TEST_BACKEND=postgresql -- their
# daemon then uses a fresh database in with-pg.sh's cluster -- shown as
# "== BINARY [postgresql]".  Without a cluster (no DC_TEST_PG_URI: with-pg.sh
# printed why, and failed under CI) that second run is left out.
passed=0; failed=0
out=$(mktemp); trap 'rm -f "$out"' EXIT

# run_one LABEL BINARY [ENV=VALUE...]: runs it and adds its counts.
run_one() {
  label=$1; t=$2; shift 2
  echo "== $label"
  env "$@" timeout "${TEST_TIMEOUT:-600}" "$t" >"$out" 2>&1; rc=$?
  cat "$out"
  # every group's summary (a binary may run several groups)
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $label exited with status $rc"; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
}

for t in "$@"; do
  run_one "$t" "$t"
  case " ${BOTH_BACKENDS:-} " in
    *" $(basename "$t") "*)
      [ -n "${DC_TEST_PG_URI:-}" ] && run_one "$t [postgresql]" "$t" DC_TEST_BACKEND=postgresql ;;
  esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
