-- 0004_run_lease: the attempt that holds a running run, the epoch of its
-- last checkpoint, and how many times a process died while training it.
ALTER TABLE runs ADD COLUMN lease TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN checkpoint_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN stops INTEGER NOT NULL DEFAULT 0;
