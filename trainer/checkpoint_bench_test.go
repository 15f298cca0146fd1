package trainer

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/nn"
)

// BenchmarkCheckpointCaptchaModel2 stores captcha-model2's checkpoint (its
// weights, batch normalisation statistics and Adam's moments, after a
// training step) the way every epoch does: streamed into the artifact store
// and committed with the epoch row under the run's lease, on a SQLite file.
// It reports the checkpoint's size and the write rate.
func BenchmarkCheckpointCaptchaModel2(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := migrations.OpenDatabase(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t, err := New(db.Gorm, db.River, runs.NewBroker(), Config{DataDir: dir, Workers: 0, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := experiments.PresetByName("captcha-model2")
	spec := p.Spec
	spec.Epochs, spec.BatchSize = 1, 8
	rs, err := t.Submit(ctx, &experiments.Experiment{Name: "bench", Preset: p.Name, Spec: spec, Repeats: 1}, []experiments.Spec{spec})
	if err != nil {
		b.Fatal(err)
	}
	lease, err := t.runs.Start(ctx, rs[0].ID, "cpu", "bench", time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	set, err := SyntheticCaptchaSet(16, 1, spec.Preprocessing)
	if err != nil {
		b.Fatal(err)
	}
	model, err := nn.Build(spec, spec.BatchSize)
	if err != nil {
		b.Fatal(err)
	}
	if err := model.Fit(ctx, set, nil, 0, nn.Hooks{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := t.saveCheckpoint(ctx, lease, model, runs.Epoch{Epoch: i + 1, Loss: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	a, err := t.arts.Stat(ctx, runs.CheckpointArtifact(lease.RunID))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(a.Size)/(1<<20), "MiB/checkpoint")
	b.ReportMetric(float64(a.Size)*float64(b.N)/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
}
