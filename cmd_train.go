package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
)

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr, "Usage: trainyard train --preset NAME [flags]\n\nTrains one model without the server and writes its weights.\nPresets: "+strings.Join(experiments.PresetNames(), ", "))
	preset := fs.String("preset", "mnist-nn1", "preset to train")
	epochs := fs.Int("epochs", 0, "epochs (default: the preset's)")
	batch := fs.Int("batch", 0, "batch size (default: the preset's)")
	lr := fs.Float64("lr", 0, "learning rate (default: the preset's)")
	limit := fs.Int("train-limit", 0, "cap on training images (0: no cap)")
	seed := fs.Int64("seed", 0, "seed (default: the preset's)")
	out := fs.String("out", "run.safetensors", "weights file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, ok := experiments.PresetByName(*preset)
	if !ok {
		return fmt.Errorf("unknown preset %q (one of %s)", *preset, strings.Join(experiments.PresetNames(), ", "))
	}
	spec := p.Spec
	if *epochs != 0 {
		spec.Epochs = *epochs
	}
	if *batch != 0 {
		spec.BatchSize = *batch
	}
	if *lr != 0 {
		spec.LearningRate = *lr
	}
	if *seed != 0 {
		spec.Seed = *seed
	}
	spec.TrainLimit = *limit
	if err := spec.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "training %s: %d params, %d epochs, batch %d, lr %g\n",
		p.Name, spec.Summarize().TotalParams, spec.Epochs, spec.BatchSize, spec.LearningRate)
	data, err := trainer.LoadSplits(spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "data: %d train, %d validation, %d test images\n", data.Train.N, data.Val.N, data.Test.N)
	start := time.Now()
	bar := progressBar{w: stdout}
	tr := &trainer.Training{Spec: spec, Data: data, OnProgress: bar.update, ProgressEvery: 100 * time.Millisecond,
		OnEpoch: func(e runs.Epoch) error {
			bar.clear()
			fmt.Fprintf(stdout, "epoch %3d  loss %.4f  acc %s  val_loss %s  val_acc %s",
				e.Epoch, e.Loss, optional(e.Accuracy), optional(e.ValLoss), optional(e.ValAccuracy))
			if e.CharAccuracy != nil {
				fmt.Fprintf(stdout, "  char_acc %s  val_char_acc %s", optional(e.CharAccuracy), optional(e.ValCharAccuracy))
			}
			fmt.Fprintf(stdout, "  lr %.2g  %.1fs\n", e.LearningRate, e.Seconds)
			return nil
		}}
	test, err := tr.Run(ctx)
	bar.clear()
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "test: loss %.4f  accuracy %.4f  %.3f ms/image  (trained in %s)\n",
		test.Loss, test.Accuracy, test.MsPerImage, since(time.Since(start)))
	if test.BestEpoch > 0 {
		fmt.Fprintf(stdout, "best validation: epoch %d\n", test.BestEpoch)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := tr.Model.WriteWeights(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "weights written to %s\n", *out)
	return nil
}

// progressBar draws one line that redraws itself: batches within the epoch,
// epochs within the run, images per second and time left.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func (b *progressBar) update(p runs.Progress) {
	const width = 30
	filled := 0
	if p.Batches > 0 {
		filled = width * p.Batch / p.Batches
	}
	eta := ""
	if p.Batch > 0 {
		eta = time.Duration(p.ETASeconds * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\repoch %d/%d [%s%s] %d/%d  %.0f img/s  %s left ",
		p.Epoch, p.Epochs, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.Batch, p.Batches, p.ImagesPerSec, eta)
	b.drawn = true
}

func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", 100))
		b.drawn = false
	}
}

// optional writes a metric with four decimals, or "–" when it is unknown.
func optional(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.4f", *v)
}
