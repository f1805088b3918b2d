#!/bin/sh
# pg-cluster.sh - a throwaway PostgreSQL cluster for the tests (issue #16).
#
#   pg-cluster.sh start DIR   initdb into DIR/data, start a server listening
#                             on a Unix socket in DIR and on 127.0.0.1 at a
#                             free random port, create the test database;
#                             prints the libpq URI and writes it to DIR/uri
#   pg-cluster.sh stop DIR    stop that server and remove DIR
#   pg-cluster.sh restart DIR restart it (-m fast), same port and socket
#
# The test role `cleaner` (the cluster's superuser) logs in with a random
# password over SCRAM (--auth=scram-sha-256), on the socket as on TCP, so a
# wrong password is refused for real.  DIR/uri:
#   postgresql://cleaner:PASSWORD@127.0.0.1:PORT/cleaner_test
# DIR/port, DIR/password and DIR/log (the server's) are beside it.
# initdb refuses to run as root: as root the cluster runs as `postgres` (or
# `nobody`) through runuser or setpriv, and DIR is handed to that user, so
# DIR must be in a folder that user can reach (mktemp -d under /tmp is).
# Durability is off (fsync, synchronous_commit): the cluster dies with the
# test run.  PG_CLUSTER_DURABLE=1 leaves it on (make bench's PostgreSQL
# rows then measure COMMITs that wait for the disk).
#
# Exit status of start: 0 started; 2 PostgreSQL is not available here (not
# installed, or as root no way to switch user) -- the one reason is on
# stderr as "pg-cluster: unavailable: REASON"; 1 it failed (the server's
# log is printed).  PG_BINDIR overrides where initdb and pg_ctl are found.
set -u
PGUSER_NAME=cleaner
PGDB_NAME=cleaner_test

die() { echo "pg-cluster: $*" >&2; exit 1; }
unavailable() { echo "pg-cluster: unavailable: $*" >&2; exit 2; }

# The folder holding initdb and pg_ctl: PG_BINDIR, Debian's newest
# /usr/lib/postgresql/N/bin, or the PATH.
find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  best='' bestv=-1
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
    v=${d%/bin}; v=${v##*/}
    case $v in ''|*[!0-9]*) v=0 ;; esac
    if [ "$v" -gt "$bestv" ]; then best=$d bestv=$v; fi
  done
  if [ -n "$best" ]; then echo "$best"; return; fi
  i=$(command -v initdb 2>/dev/null) && [ -n "$i" ] && dirname "$i"
}

# The user the server runs as: ourselves, or (as root) postgres or nobody.
pick_user() {
  if [ "$(id -u)" != 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# as USER CMD...: runs CMD as USER (as ourselves when that is who we are).
as() {
  u=$1; shift
  if [ "$(id -un)" = "$u" ]; then "$@"
  elif command -v runuser >/dev/null 2>&1; then runuser -u "$u" -- "$@"
  else setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
  fi
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# A port from 20000-59999, not listening on 127.0.0.1 now (pg_ctl start
# may still lose a race: start tries a few).
random_port() {
  while :; do
    p=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 + 20000 ))
    hex=$(printf ':%04X ' "$p")
    grep -q "$hex" /proc/net/tcp 2>/dev/null || { echo "$p"; return; }
  done
}

start() {
  dir=$1
  mkdir -p "$dir" || die "cannot create $dir"
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  dir=$(cd "$dir" && pwd)   # the server and the URI's socket need it absolute
  bindir=$(find_bindir) || true
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    unavailable "PostgreSQL is not installed (no initdb; Debian: apt-get install postgresql)"
  fi
  user=$(pick_user)
  if [ "$(id -u)" = 0 ] && ! command -v runuser >/dev/null 2>&1 && ! command -v setpriv >/dev/null 2>&1; then
    unavailable "running as root without runuser or setpriv to start the server as $user"
  fi
  [ "$(id -u)" = 0 ] && { chown "$user" "$dir" || die "cannot hand $dir to $user"; }
  chmod 700 "$dir"
  pw=$(random_hex 16)
  as "$user" sh -c 'umask 077; printf "%s\n" "$1" >"$2/password"' sh "$pw" "$dir" ||
    unavailable "$user cannot write into $dir"
  as "$user" "$bindir/initdb" -D "$dir/data" -U "$PGUSER_NAME" --pwfile="$dir/password" \
     --auth=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_CLUSTER_DURABLE:-0}" = 1 ] && durability=""
  tries=0
  while :; do
    port=$(random_port)
    if as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o \
         "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability" \
         start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] && grep -q "could not bind\|already in use" "$dir/log" 2>/dev/null && continue
    cat "$dir/log" >&2; die "the server did not start"
  done
  as "$user" env PGPASSWORD="$pw" "$bindir/psql" -X -q -h "$dir" -p "$port" -U "$PGUSER_NAME" \
    -d postgres -c "CREATE DATABASE $PGDB_NAME" >"$dir/createdb.log" 2>&1 ||
    { cat "$dir/createdb.log" >&2; stop "$dir"; die "cannot create the database $PGDB_NAME"; }
  uri="postgresql://$PGUSER_NAME:$pw@127.0.0.1:$port/$PGDB_NAME"
  as "$user" sh -c 'printf "%s\n" "$1" >"$2/port"; printf "%s\n" "$3" >"$2/uri"' sh "$port" "$dir" "$uri" ||
    die "cannot write $dir/uri"
  echo "$uri"
}

stop() {
  dir=$1
  # Only a folder this script set up is removed.
  [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster of pg-cluster.sh"
  bindir=$(find_bindir) || true
  user=$(stat -c %U "$dir/data")
  as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1
  rm -rf "$dir"
}

# restart DIR: pg_ctl restart -m fast (sessions are closed, in-flight
# transactions rolled back), on the same port and socket (pg_ctl reuses
# the options the server was started with).  The tests of a lost
# connection use it (DC_TEST_PG_DIR, with-pg.sh).
restart() {
  dir=$1
  [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster of pg-cluster.sh"
  bindir=$(find_bindir) || true
  user=$(stat -c %U "$dir/data")
  as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 restart >/dev/null 2>&1 ||
    { tail -n 20 "$dir/log" >&2; die "the server did not restart"; }
}

case ${1:-} in
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  restart) [ $# -eq 2 ] || die "usage: $0 restart DIR"; restart "$2" ;;
  *) echo "usage: $0 start DIR | stop DIR | restart DIR" >&2; exit 64 ;;
esac
