-- 0010: a sweep interval chosen by a server's own admins (`!cleanup_schedule
-- HOURS`, `/cleanup schedule hours:HOURS`), one row per guild that set one.
-- Precedence (daemon/reconcile.c): the operator's guild_interval setting
-- beats this row, which beats interval_hours.  set_by is the admin's user
-- id, set_at_ms when (Unix milliseconds).
CREATE TABLE cleaner_guild_schedule (
    guild_id    INTEGER PRIMARY KEY,
    interval_ms INTEGER NOT NULL CHECK (interval_ms > 0),
    set_by      INTEGER NOT NULL DEFAULT 0,
    set_at_ms   INTEGER NOT NULL DEFAULT 0
);
