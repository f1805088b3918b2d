-- 0004 (PostgreSQL): nothing to do.  On SQLite this rebuilt the audit table
-- with its CHECKs as plain comparisons (a speed fix of SQLite's); 0002 here
-- has the same rule and PostgreSQL evaluates it without that cost.  The
-- version is recorded all the same: one numbered sequence for both.
SELECT 1;
