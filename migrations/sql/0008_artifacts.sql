-- 0008_artifacts: files kept in the database (weights, checkpoints, imported
-- datasets) so every process that reaches the database reads them, as rows
-- of chunks of at most chunk_size bytes. An artifact is visible under its
-- name only once complete; a newer complete one replaces it.
CREATE TABLE artifacts (
    id         {{id}},
    name       TEXT    NOT NULL,
    size       BIGINT  NOT NULL DEFAULT 0,
    sha256     TEXT    NOT NULL DEFAULT '',
    chunk_size INTEGER NOT NULL,
    complete   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX artifacts_name ON artifacts (name) WHERE complete;
CREATE INDEX artifacts_incomplete ON artifacts (complete, created_at);

CREATE TABLE artifact_chunks (
    artifact_id BIGINT  NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    data        {{blob}} NOT NULL,
    PRIMARY KEY (artifact_id, n)
);
