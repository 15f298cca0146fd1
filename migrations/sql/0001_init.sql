-- 0001_init: experiments, their runs, and per-epoch metrics.
CREATE TABLE experiments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    preset     TEXT    NOT NULL DEFAULT '',
    spec       TEXT    NOT NULL,
    repeats    INTEGER NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    error         TEXT    NOT NULL DEFAULT '',
    device        TEXT    NOT NULL DEFAULT '',
    spec          TEXT    NOT NULL,
    job_id        INTEGER NOT NULL DEFAULT 0,
    train_seconds REAL    NOT NULL DEFAULT 0,
    weights_path  TEXT    NOT NULL DEFAULT '',
    test          TEXT,
    created_at    DATETIME NOT NULL,
    started_at    DATETIME,
    finished_at   DATETIME,
    heartbeat_at  DATETIME
);
CREATE INDEX runs_experiment ON runs (experiment_id);
CREATE INDEX runs_status ON runs (status, id);

CREATE TABLE epochs (
    run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch         INTEGER NOT NULL,
    loss          REAL    NOT NULL,
    accuracy      REAL    NOT NULL,
    val_loss      REAL    NOT NULL,
    val_accuracy  REAL    NOT NULL,
    learning_rate REAL    NOT NULL,
    seconds       REAL    NOT NULL,
    heads         TEXT,
    PRIMARY KEY (run_id, epoch)
);
