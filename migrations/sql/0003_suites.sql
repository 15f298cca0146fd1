-- 0003_suites: a suite groups experiments queued together, such as the seed
-- report's; each member has a key naming its role in the suite ("nn1-30").
CREATE TABLE suites (
    id         {{id}},
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE suite_experiments (
    suite_id      BIGINT  NOT NULL REFERENCES suites (id) ON DELETE CASCADE,
    experiment_id BIGINT  NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    PRIMARY KEY (suite_id, key)
);
