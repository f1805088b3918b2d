-- 0005 (PostgreSQL): each guild's name, for logs, status and chat replies.
ALTER TABLE cleaner_guild_state ADD COLUMN name TEXT;
