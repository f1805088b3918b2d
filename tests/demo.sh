#!/bin/sh
# `make run`: with DISCORD_TOKEN set, run the daemon for real (settings from
# the environment / CLEANER_CONFIG).  Without it, start the bundled loopback
# Discord double with a demo guild, seed a demo database, and run the daemon
# against it, so a newcomer sees a member leave and their row go.
set -eu
B=${1:-build}
if [ -n "${DISCORD_TOKEN:-}" ]; then
  exec "$B/discord-cleaner" run ${CLEANER_CONFIG:+--config "$CLEANER_CONFIG"}
fi

demo="$B/demo"
rm -rf "$demo"; mkdir -p "$demo"
"$B/fakediscord" --demo --port-file "$demo/port" >"$demo/fakediscord.out" 2>&1 &
fake=$!
# (|| true: under set -e a failing kill -- the double already gone with the
# same Ctrl-C -- would end the script with status 1)
trap 'kill $fake 2>/dev/null || true; wait $fake 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
i=0; while [ ! -s "$demo/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ -s "$demo/port" ] || { echo "demo: the loopback double did not start" >&2; cat "$demo/fakediscord.out" >&2; exit 69; }
port=$(cat "$demo/port")

# The bot's table, as a bot would create it, holding the demo guild's 25
# members (ids ...100-...124) plus 3 who left while nobody watched
# (...900-...902); the daemon adds its own tables on start.
{
  echo "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, UNIQUE (discord_id, guild_id));"
  echo "BEGIN;"
  n=100; while [ $n -le 124 ]; do
    echo "INSERT INTO users(discord_id, guild_id, username) VALUES (1000000000000000$n, 1000000000000000001, 'member$n');"
    n=$((n+1)); done
  for n in 900 901 902; do
    echo "INSERT INTO users(discord_id, guild_id, username) VALUES (1000000000000000$n, 1000000000000000001, 'gone$n');"
  done
  echo "COMMIT;"
} | sqlite3 "$demo/bot.db"

cat <<MSG
----------------------------------------------------------------------
 discord-cleaner demo: no DISCORD_TOKEN set, so it talks to the bundled
 loopback Discord double on 127.0.0.1:$port ("Demo Guild", 25 members).
 Five seconds after READY a member leaves; watch their row go.
 Database: $demo/bot.db    Log: $demo/user_cleanup.log
 Inspect:  $B/discord-cleaner status --db $demo/bot.db
 Stop with Ctrl-C.  For the real thing: DISCORD_TOKEN=... make run
----------------------------------------------------------------------
MSG
# Ctrl-C reaches the whole process group: the daemon stops cleanly and
# exits 0, and that is this script's status (the double is stopped by the
# EXIT trap); the shell itself must not turn the SIGINT into a failure.
trap '' INT
DISCORD_TOKEN=test-token "$B/discord-cleaner" run --api-base "http://127.0.0.1:$port/api/v10" \
  --db "$demo/bot.db" --log-file "$demo/user_cleanup.log" --reconcile-delay 5
