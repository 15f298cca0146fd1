-- 0013_workers: the processes that train runs (`trainyard worker`, and the
-- in-process workers of `trainyard serve`), each under a unique name, and the
-- worker of each run's latest attempt. A worker sends a heartbeat every
-- heartbeat_seconds; one that missed three is shown as lost.
CREATE TABLE workers (
    name              TEXT      PRIMARY KEY,
    host              TEXT      NOT NULL DEFAULT '',
    -- devices lists the worker's devices, comma-separated ("cpu,cpu").
    devices           TEXT      NOT NULL DEFAULT '',
    version           TEXT      NOT NULL DEFAULT '',
    -- instance is a random token of the running process: a second process
    -- under the same name is refused while the first one is alive.
    instance          TEXT      NOT NULL DEFAULT '',
    heartbeat_seconds DOUBLE PRECISION NOT NULL DEFAULT 5,
    started_at        TIMESTAMP NOT NULL,
    last_heartbeat    TIMESTAMP NOT NULL
);

ALTER TABLE runs ADD COLUMN worker TEXT;
