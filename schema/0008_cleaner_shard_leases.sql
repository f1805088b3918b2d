-- 0008: several processes run one bot's shards (issue #16).  Each process
-- records the shards it runs here, renews its rows every 10 s and lets them
-- expire 30 s later; a process refuses to start a shard that another live
-- owner holds.  One row per shard of a shard count: a process with
-- shards = 4-7/16 holds (16, 4) .. (16, 7).  A live lease of another shard
-- count conflicts with every shard (the two would split guilds differently).
CREATE TABLE cleaner_shard_leases (
    shard_count INTEGER NOT NULL CHECK (shard_count >= 1),
    shard       INTEGER NOT NULL CHECK (shard >= 0 AND shard < shard_count),
    owner_host  TEXT NOT NULL,
    owner_pid   INTEGER NOT NULL,
    acquired_ms INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (shard_count, shard)
);
