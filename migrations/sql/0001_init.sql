-- 0001_init: experiments, their runs, and per-epoch metrics.
CREATE TABLE experiments (
    id         {{id}},
    name       TEXT    NOT NULL,
    preset     TEXT    NOT NULL DEFAULT '',
    spec       TEXT    NOT NULL,
    repeats    INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE runs (
    id            {{id}},
    experiment_id BIGINT  NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    error         TEXT    NOT NULL DEFAULT '',
    device        TEXT    NOT NULL DEFAULT '',
    spec          TEXT    NOT NULL,
    job_id        BIGINT  NOT NULL DEFAULT 0,
    train_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    weights_path  TEXT    NOT NULL DEFAULT '',
    test          TEXT,
    created_at    TIMESTAMP NOT NULL,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    heartbeat_at  TIMESTAMP
);
CREATE INDEX runs_experiment ON runs (experiment_id);
CREATE INDEX runs_status ON runs (status, id);

CREATE TABLE epochs (
    run_id        BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch         INTEGER NOT NULL,
    loss          DOUBLE PRECISION NOT NULL,
    accuracy      DOUBLE PRECISION NOT NULL,
    val_loss      DOUBLE PRECISION NOT NULL,
    val_accuracy  DOUBLE PRECISION NOT NULL,
    learning_rate DOUBLE PRECISION NOT NULL,
    seconds       DOUBLE PRECISION NOT NULL,
    heads         TEXT,
    PRIMARY KEY (run_id, epoch)
);
