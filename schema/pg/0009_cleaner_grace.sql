-- 0009 (PostgreSQL): the grace period (#17), as schema/0009: pending
-- departures with their due time, and the audit's new reason grace_expired
-- with the departure's own reason kept beside it in `origin`.
CREATE TABLE cleaner_grace (
    guild_id   BIGINT NOT NULL,
    discord_id BIGINT NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL CHECK (reason IN
                   ('member_remove', 'guild_delete', 'left_while_offline', 'sweep')),
    marked_ms  BIGINT NOT NULL,
    due_ms     BIGINT NOT NULL,
    PRIMARY KEY (guild_id, discord_id)
);
CREATE INDEX cleaner_grace_due ON cleaner_grace (due_ms);

ALTER TABLE cleaner_audit DROP CONSTRAINT cleaner_audit_reason_check;
ALTER TABLE cleaner_audit ADD CONSTRAINT cleaner_audit_reason_check CHECK (reason IN
    ('member_remove', 'guild_delete', 'left_while_offline', 'sweep', 'grace_expired'));
ALTER TABLE cleaner_audit ADD COLUMN origin TEXT CHECK (origin IS NULL OR origin IN
    ('member_remove', 'guild_delete', 'left_while_offline', 'sweep'));
