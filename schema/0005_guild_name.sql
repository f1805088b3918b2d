-- 0005: each guild's name (GUILD_CREATE / GUILD_UPDATE carry it), so that
-- logs, `discord-cleaner status` and chat replies name a guild the way a
-- person knows it, not by its id alone.  NULL until the guild is seen again.
ALTER TABLE cleaner_guild_state ADD COLUMN name TEXT;
