#!/bin/sh
# with-pg.sh CMD [ARG...] - runs CMD with a throwaway PostgreSQL cluster
# (pg-cluster.sh) for its tests (issue #16): `make check` runs the test
# suite through it.
#
# Starts a cluster in a new folder under ${TMPDIR:-/tmp}, exports its libpq
# URI as DC_TEST_PG_URI (and the folder as DC_TEST_PG_DIR, pg-cluster.sh's
# path as DC_TEST_PG_CLUSTER: a test may restart the server), runs CMD,
# and stops the cluster and removes the
# folder when CMD ends -- also when it fails or the run is interrupted.
# When PostgreSQL is not available here it prints the one line
# "PostgreSQL tests skipped: REASON" and runs CMD without DC_TEST_PG_URI
# (the PostgreSQL tests then skip; REASON is exported as DC_TEST_PG_SKIPPED
# for make bench's one line) -- except under CI (CI=true), where
# .ci/run installs PostgreSQL and its absence fails the run.
# Exit status: CMD's, or 1 when the cluster is needed and cannot start.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/dc-pg.XXXXXX") || exit 1
started=0
cleanup() {
  if [ "$started" = 1 ]; then sh "$here/pg-cluster.sh" stop "$dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The reason PostgreSQL cannot be used, from pg-cluster.sh's stderr.
reason() {
  if [ "$1" -eq 2 ]; then
    sed -n 's/^pg-cluster: unavailable: //p' "$dir.err" | head -n 1
  else
    echo "the test cluster did not start ($(tail -n 1 "$dir.err"))"
  fi
}

unset DC_TEST_PG_URI DC_TEST_PG_DIR DC_TEST_PG_CLUSTER DC_TEST_PG_SKIPPED
t0=$(date +%s%N)
if uri=$(sh "$here/pg-cluster.sh" start "$dir" 2>"$dir.err"); then
  started=1
  export DC_TEST_PG_URI="$uri"
  # The cluster's folder and this script's sibling, for tests that restart
  # the server (sh "$DC_TEST_PG_CLUSTER" restart "$DC_TEST_PG_DIR").
  export DC_TEST_PG_DIR="$dir" DC_TEST_PG_CLUSTER="$here/pg-cluster.sh"
  echo "PostgreSQL test cluster on 127.0.0.1:$(cat "$dir/port") and $dir," \
       "started in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
  rc=$?
  why=$(reason "$rc")
  [ "$rc" -eq 2 ] || cat "$dir.err" >&2
  rm -f "$dir.err"
  if [ "${CI:-}" = true ]; then
    echo "PostgreSQL tests cannot run under CI: $why" >&2
    exit 1
  fi
  echo "PostgreSQL tests skipped: $why"
  export DC_TEST_PG_SKIPPED="$why"
fi
rm -f "$dir.err"
"$@"
