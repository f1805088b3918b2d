#!/bin/sh
# test-demo-stop.sh - `make run`'s demo (tests/demo.sh) stops cleanly on
# Ctrl-C: the terminal's SIGINT reaches the whole process group, the daemon
# finishes its turn and exits 0, the script exits 0 (make then prints no
# "Error 1"), and the loopback double is gone.  Run by `make check` with
# BUILD set; prints cmocka-style lines for tests/run-tests.sh.
set -u
B=${1:-${BUILD:-build}}
. "$(dirname "$0")/sh_cases.sh"

ctrl_c_is_a_clean_exit() {
  log=$B/demo/user_cleanup.log
  out=$(mktemp)
  rm -f "$log"
  # its own process group (setsid; -w: its status is the script's), as a
  # terminal's foreground job would be
  env -u DISCORD_TOKEN setsid -w sh tests/demo.sh "$B" >"$out" 2>&1 &
  pid=$!
  i=0
  while ! grep -q -- "-> READY" "$log" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  daemon=$(pgrep -f -- "--db $B/demo/bot.db" | head -n 1)
  pgid=$(ps -o pgid= -p "${daemon:-0}" 2>/dev/null | tr -d ' ')
  if [ -z "$pgid" ]; then
    echo "    the demo never became READY"; sed 's/^/    | /' "$out"; kill "$pid" 2>/dev/null; rm -f "$out"
    return 1
  fi
  env kill -s INT -- "-$pgid"   # procps kill: the shell builtin may not take a group
  wait "$pid"; st=$?
  rc=0
  [ "$st" -eq 0 ] || { echo "    demo.sh exited $st after SIGINT"; sed 's/^/    | /' "$out"; rc=1; }
  grep -q "stopped (exit status 0)" "$log" || { echo "    the daemon did not stop cleanly"; rc=1; }
  sleep 0.2
  if ps -o pid= -g "$pgid" 2>/dev/null | grep -q .; then echo "    processes left in the group"; rc=1; fi
  rm -f "$out"
  return $rc
}

run_case ctrl_c_is_a_clean_exit
cases_end
