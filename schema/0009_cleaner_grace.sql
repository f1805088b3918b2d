-- 0009: the grace period (#17).  With grace_hours above 0 a departure does
-- not delete at once: it is recorded here with the time it falls due, and
-- a rejoin before then deletes the record instead of the rows.  One row per
-- member of a guild (discord_id 0: the whole guild, after a confirmed
-- GUILD_DELETE or a guild left while offline).  reason is the departure's
-- own (member_remove, sweep, guild_delete, left_while_offline).
CREATE TABLE cleaner_grace (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL CHECK (reason = 'member_remove' OR reason = 'guild_delete'
                                    OR reason = 'left_while_offline' OR reason = 'sweep'),
    marked_ms  INTEGER NOT NULL,
    due_ms     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, discord_id)
);
CREATE INDEX cleaner_grace_due ON cleaner_grace (due_ms);

-- The audit learns the reason grace_expired, and keeps the departure's own
-- reason beside it in `origin` (NULL for every other reason).  SQLite
-- changes a CHECK only by rebuilding the table (as 0004 did).
CREATE TABLE cleaner_audit_0009 (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER,
    reason     TEXT NOT NULL CHECK (reason = 'member_remove' OR reason = 'guild_delete'
                                    OR reason = 'left_while_offline' OR reason = 'sweep'
                                    OR reason = 'grace_expired'),
    dry_run    INTEGER NOT NULL DEFAULT 0 CHECK (dry_run = 0 OR dry_run = 1),
    rows       INTEGER NOT NULL DEFAULT 0,
    origin     TEXT CHECK (origin IS NULL OR origin = 'member_remove' OR origin = 'guild_delete'
                           OR origin = 'left_while_offline' OR origin = 'sweep')
);
INSERT INTO cleaner_audit_0009 (id, at_ms, guild_id, discord_id, reason, dry_run, rows)
    SELECT id, at_ms, guild_id, discord_id, reason, dry_run, rows FROM cleaner_audit;
DROP TABLE cleaner_audit;
ALTER TABLE cleaner_audit_0009 RENAME TO cleaner_audit;
CREATE INDEX cleaner_audit_at ON cleaner_audit (at_ms);
