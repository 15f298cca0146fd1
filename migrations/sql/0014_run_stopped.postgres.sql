-- 0014_run_stopped (PostgreSQL): a run a sweep's successive halving stopped
-- early ends with status 'stopped', and stop_rung keeps the epoch of the
-- rung that stopped it (0 for every other run).
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'stopped'));
ALTER TABLE runs ADD COLUMN stop_rung INTEGER NOT NULL DEFAULT 0;
