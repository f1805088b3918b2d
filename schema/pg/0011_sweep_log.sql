-- 0011 (PostgreSQL): the sweep history the stats page reads (see schema/0011).
CREATE TABLE cleaner_sweep_log (
    id          BIGSERIAL PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    started_ms  BIGINT NOT NULL DEFAULT 0,
    at_ms       BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    removed     BIGINT NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    trigger     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cleaner_sweep_log_at ON cleaner_sweep_log (at_ms);
