-- placeholder, replaced by the storage work
SELECT 1;
