-- 0002: the daemon's own tables.  They carry a cleaner_ prefix because the
-- database belongs to the bot, whose features may well have an "audit" or
-- "guild_state" table of their own.

-- One row per delete (or dry-run count).  discord_id is NULL for
-- whole-guild deletes; rows is users + clean_tables rows affected.
CREATE TABLE cleaner_audit (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER,
    reason     TEXT NOT NULL CHECK (reason IN
                   ('member_remove', 'guild_delete', 'left_while_offline', 'sweep')),
    dry_run    INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
    rows       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cleaner_audit_at ON cleaner_audit (at_ms);

-- What the daemon knows about each guild it has seen.
CREATE TABLE cleaner_guild_state (
    guild_id               INTEGER PRIMARY KEY,
    shard_id               INTEGER NOT NULL DEFAULT 0,
    last_seen_ms           INTEGER NOT NULL DEFAULT 0,
    unavailable            INTEGER NOT NULL DEFAULT 0,
    needs_reconcile        INTEGER NOT NULL DEFAULT 0,
    last_sweep_ms          INTEGER NOT NULL DEFAULT 0,
    last_sweep_removed     INTEGER NOT NULL DEFAULT 0,
    last_sweep_duration_ms INTEGER NOT NULL DEFAULT 0,
    last_sweep_result      TEXT NOT NULL DEFAULT ''
);

-- Gateway session (gw.<shard>.session_id / .seq / .resume_url) and
-- scheduler state (sweep.next_run_ms), as text.
CREATE TABLE cleaner_session_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
