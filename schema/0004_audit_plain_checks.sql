-- 0004: the audit's CHECK constraints as plain comparisons.  SQLite codes
-- "reason IN (four strings)" in a CHECK with a temporary b-tree built anew
-- for every INSERT; with one audit row per departed member that was half
-- the cost of a delete during a burst (make bench, profiled).  Same rule,
-- same rows, same index; the table is rebuilt once.
CREATE TABLE cleaner_audit_0004 (
    id         INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER,
    reason     TEXT NOT NULL CHECK (reason = 'member_remove' OR reason = 'guild_delete'
                                    OR reason = 'left_while_offline' OR reason = 'sweep'),
    dry_run    INTEGER NOT NULL DEFAULT 0 CHECK (dry_run = 0 OR dry_run = 1),
    rows       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO cleaner_audit_0004 (id, at_ms, guild_id, discord_id, reason, dry_run, rows)
    SELECT id, at_ms, guild_id, discord_id, reason, dry_run, rows FROM cleaner_audit;
DROP TABLE cleaner_audit;
ALTER TABLE cleaner_audit_0004 RENAME TO cleaner_audit;
CREATE INDEX cleaner_audit_at ON cleaner_audit (at_ms);
