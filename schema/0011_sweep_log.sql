-- 0011: the sweep history the stats page (GET /api/stats) reads: one row per
-- finished sweep, meant to be written by the sweep's final turn in the same
-- transaction as its deletes (where cleaner_guild_state's last_sweep_* columns
-- are written) and pruned with the audit retention (at_ms < cutoff).
-- cleaner_sweep_log_at serves "the last 20 sweeps" (ORDER BY at_ms DESC LIMIT 20)
-- and the retention prune.  started_ms/at_ms are Unix milliseconds; result is
-- the same word as last_sweep_result; trigger says who asked (schedule,
-- command, cli, ...).
CREATE TABLE cleaner_sweep_log (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    started_ms  INTEGER NOT NULL DEFAULT 0,
    at_ms       INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',
    dry_run     INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
    trigger     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cleaner_sweep_log_at ON cleaner_sweep_log (at_ms);
