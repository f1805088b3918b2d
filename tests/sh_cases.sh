# sh_cases.sh - sourced by the test scripts written in sh (test-dist.sh,
# test-pg-cluster.sh, test-demo-stop.sh): the cmocka-style lines that
# tests/run-tests.sh counts.  run_case NAME runs the function NAME (status 0
# passes, 77 skips, anything else fails); check CMD... runs CMD and says
# which check failed; cases_end prints the summary and exits 1 when a case
# failed.
passed=0 failed=0 skipped=0 names=

case_end() {
  if [ "$2" -eq 0 ]; then echo "[       OK ] $1"; passed=$((passed + 1))
  elif [ "$2" -eq 77 ]; then echo "[  SKIPPED ] $1"; skipped=$((skipped + 1))
  else echo "[  FAILED  ] $1"; failed=$((failed + 1)); names="$names $1"
  fi
}
check() { "$@" || { echo "    check failed: $*"; return 1; }; }
run_case() { echo "[ RUN      ] $1"; "$1"; case_end "$1" $?; }

cases_end() {
  echo "[==========] $((passed + failed + skipped)) test(s) run."
  echo "[  PASSED  ] $passed test(s)."
  [ "$skipped" -gt 0 ] && echo "[  SKIPPED ] $skipped test(s)."
  if [ "$failed" -gt 0 ]; then
    echo "[  FAILED  ] $failed test(s), listed below:"
    for n in $names; do echo "[  FAILED  ] $n"; done
    exit 1
  fi
  exit 0
}
