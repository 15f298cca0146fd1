package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/captcha"
	"github.com/trainyard/trainyard/trainer/dataset"
	"github.com/trainyard/trainyard/trainer/nn"
)

// EvalResult is a trained model measured on a labelled set. Accuracy is the
// share of images right (every head right for CAPTCHA models); CAPTCHA
// models also fill ImageAccuracy (equal to Accuracy) and CharAccuracy, which
// are null for one-head models.
type EvalResult struct {
	Images        int      `json:"images"`
	Accuracy      *float64 `json:"accuracy"`
	ImageAccuracy *float64 `json:"image_accuracy"`
	CharAccuracy  *float64 `json:"char_accuracy"`
	MsPerImage    float64  `json:"ms_per_image"`
}

// LoadWeights reads a weights file and rebuilds its model with the batch
// size of the spec inside it (at most 256), so evaluation batches like training.
func LoadWeights(path string) (*nn.Model, error) {
	m, err := loadModel(path, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// evalChunk is how many images of a CAPTCHA folder are decoded,
// preprocessed and evaluated at a time, so evaluating a folder of any size
// holds one chunk in memory.
const evalChunk = 512

// Evaluate measures m on set.
func Evaluate(m *nn.Model, set *dataset.Set) (EvalResult, error) {
	res, err := m.Evaluate(set)
	if err != nil {
		return EvalResult{}, err
	}
	out := EvalResult{Images: res.Images, Accuracy: &res.Accuracy, MsPerImage: res.MsPerImage}
	if set.Heads > 1 {
		out.ImageAccuracy, out.CharAccuracy = res.ImageAccuracy, res.CharAccuracy
	}
	return out, nil
}

// EvaluateFile loads the weights file and evaluates it: a CAPTCHA model on
// every image of the labelled folder dir (read a chunk at a time, see
// captcha.OpenDir), an MNIST model on the embedded test set (dir must be
// empty). It stops with ctx's error when ctx ends. It is what `trainyard
// eval` and POST /api/runs/:id/evaluate run.
func EvaluateFile(ctx context.Context, weights, dir string) (EvalResult, error) {
	m, err := LoadWeights(weights)
	if err != nil {
		return EvalResult{}, err
	}
	return evaluateModel(ctx, m, dir)
}

// evaluateModel evaluates m on the labelled folder dir (a CAPTCHA model) or
// the embedded MNIST test set (an MNIST model, dir empty).
func evaluateModel(ctx context.Context, m *nn.Model, dir string) (EvalResult, error) {
	spec := m.Spec()
	switch spec.Dataset {
	case experiments.DatasetCaptcha:
		if dir == "" {
			return EvalResult{}, errors.New("a CAPTCHA model needs a labelled folder to evaluate on (--data DIR)")
		}
		return evaluateFolder(ctx, m, dir, spec.Preprocessing, evalChunk)
	case experiments.DatasetMNIST:
		if dir != "" {
			return EvalResult{}, errors.New("MNIST models are evaluated on the embedded MNIST test set: leave out --data")
		}
		_, test, err := dataset.MNIST()
		if err != nil {
			return EvalResult{}, err
		}
		return Evaluate(m, test)
	default:
		return EvalResult{}, fmt.Errorf("unknown dataset %q in the weights file", spec.Dataset)
	}
}

// evaluateFolder evaluates a CAPTCHA model on the folder dir, size images
// at a time, and combines the chunks' results.
func evaluateFolder(ctx context.Context, m *nn.Model, dir, mode string, size int) (EvalResult, error) {
	f, err := captcha.OpenDir(dir)
	if err != nil {
		return EvalResult{}, err
	}
	defer f.Close()
	var chunk *dataset.Set
	var images, imageRight, charRight, chars int
	var ms float64
	for from := 0; from < f.Len(); from += size {
		if err := ctx.Err(); err != nil {
			return EvalResult{}, err
		}
		if chunk, err = captchaFolderSet(ctx, f, from, min(size, f.Len()-from), mode, chunk); err != nil {
			return EvalResult{}, err
		}
		res, err := m.Evaluate(chunk)
		if err != nil {
			return EvalResult{}, err
		}
		n := float64(res.Images)
		images += res.Images
		chars += res.Images * chunk.Heads
		imageRight += int(math.Round(res.Accuracy * n))
		if res.CharAccuracy != nil {
			charRight += int(math.Round(*res.CharAccuracy * n * float64(chunk.Heads)))
		}
		ms += res.MsPerImage * n
	}
	if images == 0 {
		return EvalResult{}, errors.New("the folder lists no images")
	}
	imageAcc, charAcc := float64(imageRight)/float64(images), float64(charRight)/float64(chars)
	return EvalResult{Images: images, Accuracy: &imageAcc, ImageAccuracy: &imageAcc, CharAccuracy: &charAcc, MsPerImage: ms / float64(images)}, nil
}
