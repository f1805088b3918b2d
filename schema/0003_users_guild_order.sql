-- 0003: walk a guild's rows in discord_id order.  The reconciliation sweep
-- deletes stale rows in batches with a cursor (discord_id > last), which
-- needs (guild_id, discord_id); this index also serves everything the
-- guild_id-only index of 0001 did, so that one goes.
CREATE INDEX IF NOT EXISTS cleaner_users_guild_user ON users (guild_id, discord_id);
DROP INDEX IF EXISTS cleaner_users_guild;
