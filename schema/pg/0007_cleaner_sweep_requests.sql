-- 0007 (PostgreSQL): `discord-cleaner sweep` hands its request to the
-- running daemon (see schema/0007).
CREATE TABLE cleaner_sweep_requests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- never reused
    guild_id     BIGINT NOT NULL,
    force        SMALLINT NOT NULL DEFAULT 0 CHECK (force IN (0, 1)),
    dry_run      SMALLINT NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
    requester    BIGINT NOT NULL,
    requested_ms BIGINT NOT NULL,
    done_ms      BIGINT,
    status       INTEGER,
    outcome      TEXT NOT NULL DEFAULT ''
);
