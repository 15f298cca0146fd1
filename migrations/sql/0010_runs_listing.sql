-- 0010_runs_listing: what the runs table sorts and filters on, kept on the run
-- row (settings copied from its spec, results as they become known), tags and
-- notes on runs and experiments. Rows stored before this migration are filled
-- in by runs.Store.Backfill at start (params = 0 marks them).
ALTER TABLE runs ADD COLUMN test_accuracy DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN best_val_accuracy DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN params BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN epochs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN learning_rate DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN optimizer TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN dataset TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN seed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE experiments ADD COLUMN note TEXT NOT NULL DEFAULT '';

CREATE TABLE run_tags (
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tag    TEXT   NOT NULL,
    PRIMARY KEY (run_id, tag)
);
CREATE INDEX run_tags_tag ON run_tags (tag, run_id);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    tag           TEXT   NOT NULL,
    PRIMARY KEY (experiment_id, tag)
);

CREATE INDEX runs_test_accuracy ON runs (test_accuracy, id);
CREATE INDEX runs_best_val_accuracy ON runs (best_val_accuracy, id);
CREATE INDEX runs_train_seconds ON runs (train_seconds, id);
CREATE INDEX runs_params ON runs (params, id);
CREATE INDEX runs_epochs ON runs (epochs, id);
CREATE INDEX runs_learning_rate ON runs (learning_rate, id);
CREATE INDEX runs_dataset ON runs (dataset, id);
CREATE INDEX experiments_preset ON experiments (preset, id);
