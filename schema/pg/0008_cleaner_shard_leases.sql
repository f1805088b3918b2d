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

-- The identify lock's time (store_pg_coord.c): when each max_concurrency
-- bucket was last got, on the server's clock, so that a process that dies
-- right after its IDENTIFY (dropping its advisory lock) does not let the
-- next one identify in the same 5 s.  (SQLite keeps it in the bucket's
-- lock file.)
CREATE TABLE cleaner_identify_buckets (
    bucket        INTEGER PRIMARY KEY,
    identified_at TIMESTAMPTZ NOT NULL
);
