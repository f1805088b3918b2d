-- 0008 (PostgreSQL): the shard leases of the processes that run one bot
-- (see schema/0008).
CREATE TABLE cleaner_shard_leases (
    shard_count INTEGER NOT NULL CHECK (shard_count >= 1),
    shard       INTEGER NOT NULL CHECK (shard >= 0 AND shard < shard_count),
    owner_host  TEXT NOT NULL,
    owner_pid   BIGINT NOT NULL,
    acquired_ms BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    PRIMARY KEY (shard_count, shard)
);
