-- 0010 (PostgreSQL): a sweep interval chosen by a server's own admins (see
-- schema/0010).
CREATE TABLE cleaner_guild_schedule (
    guild_id    BIGINT PRIMARY KEY,
    interval_ms BIGINT NOT NULL CHECK (interval_ms > 0),
    set_by      BIGINT NOT NULL DEFAULT 0,
    set_at_ms   BIGINT NOT NULL DEFAULT 0
);
