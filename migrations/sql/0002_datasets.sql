-- 0002_datasets: imported, labelled CAPTCHA folders, stored once under the data dir.
CREATE TABLE datasets (
    id         {{id}},
    name       TEXT    NOT NULL,
    images     INTEGER NOT NULL,
    -- path is the dataset's folder relative to the data dir ("/" separated).
    path       TEXT    NOT NULL UNIQUE,
    -- source is the folder it was imported from ('' for an uploaded zip);
    -- importing the same folder again returns the stored dataset.
    source     TEXT    NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX datasets_source ON datasets (source);
