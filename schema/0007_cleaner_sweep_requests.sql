-- 0007: `discord-cleaner sweep` while `run` works on the database hands its
-- request to the daemon here instead of opening a gateway session of its
-- own (two sessions of one bot on one database take each other's place).
-- The CLI inserts a row and wakes the daemon (SIGUSR1); the daemon runs the
-- sweep(s) -- guild_id 0: every guild it serves -- and writes the outcome
-- back, one line per guild; the CLI prints it and deletes the row.
CREATE TABLE cleaner_sweep_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: the daemon remembers the last taken
    guild_id     INTEGER NOT NULL,
    force        INTEGER NOT NULL DEFAULT 0 CHECK (force = 0 OR force = 1),
    dry_run      INTEGER NOT NULL DEFAULT 0 CHECK (dry_run = 0 OR dry_run = 1),
    requester    INTEGER NOT NULL,          -- pid of the waiting CLI
    requested_ms INTEGER NOT NULL,
    done_ms      INTEGER,                   -- NULL until the daemon has answered
    status       INTEGER,                   -- the CLI's exit status (0, 66, 75)
    outcome      TEXT NOT NULL DEFAULT ''
);
