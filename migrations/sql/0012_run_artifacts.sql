-- 0012_run_artifacts: weights, checkpoints and imported datasets live in the
-- artifact store (0008). A run's weights_path names its weights artifact
-- ("runs/<id>/weights.safetensors") and weights_sha256 is their sha256, null
-- until known. A dataset's sha256 is that of its artifact, a zip of its
-- checked files named by its path; null while the dataset is still only a
-- folder under the data dir (imported before this version; moved into the
-- store at start).
ALTER TABLE runs ADD COLUMN weights_sha256 TEXT;
ALTER TABLE datasets ADD COLUMN sha256 TEXT;
