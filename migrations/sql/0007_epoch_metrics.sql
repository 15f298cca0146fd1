-- 0007_epoch_metrics: an epoch's accuracy and val_accuracy are image
-- accuracies (every head right) for multi-head models, like the test
-- accuracy, and char_accuracy / val_char_accuracy hold the share of
-- characters right. A metric that is unknown is NULL: validation metrics of
-- a run without a validation set, character accuracies of one-head models,
-- and the image accuracy of multi-head epochs recorded before this
-- migration, whose accuracy columns held the character accuracy and move to
-- the new columns. The table is rebuilt because the accuracy columns were
-- NOT NULL.
CREATE TABLE epochs_0007 (
    run_id            BIGINT           NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch             BIGINT           NOT NULL,
    loss              DOUBLE PRECISION NOT NULL,
    accuracy          DOUBLE PRECISION,
    val_loss          DOUBLE PRECISION,
    val_accuracy      DOUBLE PRECISION,
    char_accuracy     DOUBLE PRECISION,
    val_char_accuracy DOUBLE PRECISION,
    learning_rate     DOUBLE PRECISION NOT NULL,
    seconds           DOUBLE PRECISION NOT NULL,
    heads             TEXT,
    PRIMARY KEY (run_id, epoch)
);

INSERT INTO epochs_0007 (run_id, epoch, loss, accuracy, val_loss, val_accuracy, char_accuracy, val_char_accuracy,
                         learning_rate, seconds, heads)
SELECT run_id, epoch, loss,
       CASE WHEN heads IS NULL THEN accuracy END,
       CASE WHEN val_loss = 0 AND val_accuracy = 0 THEN NULL ELSE val_loss END,
       CASE WHEN heads IS NOT NULL OR (val_loss = 0 AND val_accuracy = 0) THEN NULL ELSE val_accuracy END,
       CASE WHEN heads IS NOT NULL THEN accuracy END,
       CASE WHEN heads IS NOT NULL AND NOT (val_loss = 0 AND val_accuracy = 0) THEN val_accuracy END,
       learning_rate, seconds, heads
FROM epochs;

DROP TABLE epochs;
ALTER TABLE epochs_0007 RENAME TO epochs;
