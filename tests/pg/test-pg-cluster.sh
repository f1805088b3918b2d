#!/bin/sh
# test-pg-cluster.sh - the throwaway cluster of the tests (pg-cluster.sh,
# issue #16) does what `make check` relies on: start prints and writes a
# working URI with a password that matters, stop stops the server and
# removes the folder, neither touches a folder that is not its own, and a
# missing PostgreSQL is told apart (exit 2, one reason); with-pg.sh runs a
# command with the cluster, skips in one line without PostgreSQL and fails
# under CI.  Starts a cluster of
# its own beside the suite's.  Prints cmocka-style lines so
# tests/run-tests.sh counts the cases; the cases that need a server skip when
# PostgreSQL is not available here (under CI=true they fail).
set -u
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/pg-cluster.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-pgtest.XXXXXX") || exit 2
dir=$tmp/c
trap '[ -f "$dir/data/PG_VERSION" ] && sh "$cluster" stop "$dir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
. "$here/../sh_cases.sh"

psql_bin() { for d in /usr/lib/postgresql/*/bin; do [ -x "$d/psql" ] && { echo "$d/psql"; return; }; done; command -v psql; }
PSQL=$(psql_bin)
sql() { PGCONNECT_TIMEOUT=5 "$PSQL" -X -At -c "$2" "$1" 2>&1; }

available=1
start_out=$(sh "$cluster" start "$dir" 2>"$tmp/start.err"); start_rc=$?
if [ "$start_rc" -eq 2 ]; then
  available=0
  echo "    $(cat "$tmp/start.err")"
fi
needs_server() {
  [ "$available" -eq 1 ] && return 0
  [ "${CI:-}" = true ] && { echo "    PostgreSQL is required under CI"; return 1; }
  return 77
}

start_prints_and_writes_uri() {
  needs_server || return $?
  check [ "$start_rc" -eq 0 ] || { sed 's/^/    | /' "$tmp/start.err"; return 1; }
  check [ "$start_out" = "$(cat "$dir/uri")" ] &&
  echo "$start_out" | check grep -Eq '^postgresql://cleaner:[0-9a-f]{32}@127\.0\.0\.1:[0-9]+/cleaner_test$' &&
  check [ "${start_out##*:}" = "$(cat "$dir/port")/cleaner_test" ] &&
  check [ -S "$dir/.s.PGSQL.$(cat "$dir/port")" ]
}

uri_logs_in() {
  needs_server || return $?
  check [ "$(sql "$start_out" "SELECT current_user || ' ' || current_database()")" = "cleaner cleaner_test" ]
}

wrong_password_refused() {
  needs_server || return $?
  out=$(sql "postgresql://cleaner:wrong@127.0.0.1:$(cat "$dir/port")/cleaner_test" "SELECT 1")
  echo "$out" | check grep -q 'password authentication failed'
}

start_refuses_non_empty_folder() {
  mkdir -p "$tmp/full" && : >"$tmp/full/keep"
  sh "$cluster" start "$tmp/full" >/dev/null 2>"$tmp/err"; rc=$?
  check [ "$rc" -eq 1 ] && check [ -f "$tmp/full/keep" ] && check grep -q 'not empty' "$tmp/err"
}

stop_refuses_foreign_folder() {
  mkdir -p "$tmp/foreign" && : >"$tmp/foreign/keep"
  sh "$cluster" stop "$tmp/foreign" 2>"$tmp/err"; rc=$?
  check [ "$rc" -eq 1 ] && check [ -f "$tmp/foreign/keep" ] && check grep -q 'holds no cluster' "$tmp/err"
}

missing_postgresql_is_unavailable() {
  PG_BINDIR=$tmp/none sh "$cluster" start "$tmp/none-dir" >/dev/null 2>"$tmp/err"; rc=$?
  check [ "$rc" -eq 2 ] && check [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
  check grep -q '^pg-cluster: unavailable: PostgreSQL is not installed' "$tmp/err"
}

stop_stops_and_removes() {
  needs_server || return $?
  uri=$start_out
  sh "$cluster" stop "$dir" || { echo "    stop failed"; return 1; }
  check [ ! -e "$dir" ] && check [ "$(sql "$uri" "SELECT 1")" != 1 ]
}

# with-pg.sh, around a command: the URI exported, the command's exit
# status kept, the cluster stopped and its folder gone afterwards.
with_pg_runs_command_with_cluster() {
  needs_server || return $?
  TMPDIR=$tmp sh "$here/with-pg.sh" sh -c 'echo "uri=$DC_TEST_PG_URI"; exit 3' >"$tmp/out" 2>&1; rc=$?
  used=$(sed -n 's/^PostgreSQL test cluster on 127.0.0.1:[0-9]* and \(.*\), started in [0-9]* ms$/\1/p' "$tmp/out")
  check [ "$rc" -eq 3 ] && check [ -n "$used" ] && check [ ! -e "$used" ] &&
  check grep -Eq '^uri=postgresql://cleaner:[0-9a-f]{32}@127' "$tmp/out" ||
    { sed 's/^/    | /' "$tmp/out"; return 1; }
}

with_pg_skips_in_one_line() {
  PG_BINDIR=$tmp/none CI='' TMPDIR=$tmp sh "$here/with-pg.sh" sh -c 'echo "[${DC_TEST_PG_URI:-unset}]"; exit 5' \
    >"$tmp/out" 2>&1; rc=$?
  check [ "$rc" -eq 5 ] &&
  check [ "$(sed -n 1p "$tmp/out")" = "PostgreSQL tests skipped: PostgreSQL is not installed (no initdb; Debian: apt-get install postgresql)" ] &&
  check [ "$(sed -n 2p "$tmp/out")" = "[unset]" ] && check [ "$(wc -l <"$tmp/out")" -eq 2 ] ||
    { sed 's/^/    | /' "$tmp/out"; return 1; }
}

with_pg_fails_under_ci() {
  PG_BINDIR=$tmp/none CI=true TMPDIR=$tmp sh "$here/with-pg.sh" sh -c 'echo ran' >"$tmp/out" 2>&1; rc=$?
  check [ "$rc" -eq 1 ] && check [ "$(grep -c '^ran$' "$tmp/out")" -eq 0 ] &&
  check grep -q '^PostgreSQL tests cannot run under CI: PostgreSQL is not installed' "$tmp/out"
}

run_case start_prints_and_writes_uri
run_case uri_logs_in
run_case wrong_password_refused
run_case start_refuses_non_empty_folder
run_case stop_refuses_foreign_folder
run_case missing_postgresql_is_unavailable
run_case stop_stops_and_removes
run_case with_pg_runs_command_with_cluster
run_case with_pg_skips_in_one_line
run_case with_pg_fails_under_ci

cases_end
