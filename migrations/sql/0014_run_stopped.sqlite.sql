-- 0014_run_stopped (SQLite): a run a sweep's successive halving stopped
-- early ends with status 'stopped', and stop_rung keeps the epoch of the
-- rung that stopped it (0 for every other run).
--
-- The CHECK on runs.status gains 'stopped'. SQLite cannot alter a
-- constraint, and copying runs into a new table would have to drop it, whose
-- implicit DELETE cascades into epochs and run_tags with foreign keys on
-- (they cannot be turned off inside the migration's transaction). A CHECK
-- that admits more values leaves every stored row valid and the file's
-- format unchanged, so the table's stored definition is edited in place, as
-- SQLite's documentation describes for such changes (ALTER TABLE, "making
-- other kinds of table schema changes"): only the status list changes, every
-- column and index stays. The ADD COLUMN after it bumps the schema cookie,
-- so every connection reloads the definition.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, '''failed'', ''cancelled'')', '''failed'', ''cancelled'', ''stopped'')')
WHERE type = 'table' AND name = 'runs'
  AND instr(sql, 'CHECK (status IN (''queued'', ''running'', ''succeeded'', ''failed'', ''cancelled''))') > 0;
PRAGMA writable_schema = RESET;
ALTER TABLE runs ADD COLUMN stop_rung INTEGER NOT NULL DEFAULT 0;
