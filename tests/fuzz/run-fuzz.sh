#!/bin/sh
# run-fuzz.sh BUILD SECONDS TARGET... - run each libFuzzer target for
# SECONDS on a corpus in BUILD/corpus/TARGET, seeded from
# tests/fuzz/seeds/TARGET and fixtures/ (every file there: recorded streams
# are good seeds for every parser).  Crashes land in BUILD/crashes/TARGET;
# turn each into a fixture or unit test.  Exit 1 when any target failed.
# Every tests/fuzz/fuzz_NAME.c is a target (command, config, dispatch,
# fixture, zstream).
build=$1; secs=$2; shift 2
failed=0
for t in "$@"; do
  corpus=$build/corpus/$t; crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  [ -d tests/fuzz/seeds/$t ] && cp -n tests/fuzz/seeds/$t/* "$corpus"/ 2>/dev/null
  [ -d fixtures ] && find fixtures -type f -exec cp -n {} "$corpus"/ \; 2>/dev/null
  echo "== fuzz_$t for ${secs}s"
  if ! "$build/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" >"$build/fuzz_$t.log" 2>&1; then
    echo "!! fuzz_$t found a problem: see $build/fuzz_$t.log and $crashes/"; tail -n 30 "$build/fuzz_$t.log"
    failed=1
  else
    grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$build/fuzz_$t.log" | tail -n 2
  fi
done
exit $failed
