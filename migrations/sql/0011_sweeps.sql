-- 0011_sweeps: the sweep an experiment was queued with (JSON of
-- experiments.Sweep), null for a plain experiment.
ALTER TABLE experiments ADD COLUMN sweep TEXT;
