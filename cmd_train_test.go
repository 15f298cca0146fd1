package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/trainer"
)

// TestTrainCommand trains a small model with `trainyard train` (the same
// pipeline as the workers): it prints each epoch, the test result and the
// best validation epoch, and writes weights that evaluate to the printed
// test accuracy.
func TestTrainCommand(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "nn1.safetensors")
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"train", "--preset", "mnist-nn1", "--epochs", "2", "--train-limit", "600", "--out", out}, &stdout, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stdout.String())
	}
	text := stdout.String()
	for _, want := range []string{"epoch   1  loss", "epoch   2  loss", "test: loss", "best validation: epoch", "weights written to"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	res, err := trainer.EvaluateFile(context.Background(), out, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("accuracy %.4f", *res.Accuracy); !strings.Contains(text, want) {
		t.Errorf("the weights evaluate to %s on %d images; printed:\n%s", want, res.Images, text)
	}
}
