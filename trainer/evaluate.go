package trainer

import (
	"errors"
	"fmt"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/dataset"
	"github.com/trainyard/trainyard/trainer/nn"
)

// EvalResult is a trained model measured on a labelled set. CAPTCHA models
// fill ImageAccuracy and CharAccuracy, MNIST models Accuracy.
type EvalResult struct {
	Images        int      `json:"images"`
	Accuracy      *float64 `json:"accuracy,omitempty"`
	ImageAccuracy *float64 `json:"image_accuracy,omitempty"`
	CharAccuracy  *float64 `json:"char_accuracy,omitempty"`
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

// EvalSet loads the labelled set a model of spec is evaluated on: for a
// CAPTCHA model every image of the folder dir, preprocessed as the spec
// says; for an MNIST model the embedded test set (dir must be empty).
func EvalSet(spec experiments.Spec, dir string) (*dataset.Set, error) {
	switch spec.Dataset {
	case experiments.DatasetCaptcha:
		if dir == "" {
			return nil, errors.New("a CAPTCHA model needs a labelled folder to evaluate on (--data DIR)")
		}
		return LoadCaptchaDir(dir, spec.Preprocessing)
	case experiments.DatasetMNIST:
		if dir != "" {
			return nil, errors.New("MNIST models are evaluated on the embedded MNIST test set: leave out --data")
		}
		_, test, err := dataset.MNIST()
		return test, err
	default:
		return nil, fmt.Errorf("unknown dataset %q in the weights file", spec.Dataset)
	}
}

// Evaluate measures m on set.
func Evaluate(m *nn.Model, set *dataset.Set) (EvalResult, error) {
	res, err := m.Evaluate(set)
	if err != nil {
		return EvalResult{}, err
	}
	out := EvalResult{Images: res.Images, MsPerImage: res.MsPerImage}
	if set.Heads > 1 {
		out.ImageAccuracy, out.CharAccuracy = &res.ImageAccuracy, &res.CharAccuracy
	} else {
		out.Accuracy = &res.Accuracy
	}
	return out, nil
}

// EvaluateFile loads the weights file and evaluates it on the folder dir
// (see EvalSet). It is what `trainyard eval` runs.
func EvaluateFile(weights, dir string) (EvalResult, error) {
	m, err := LoadWeights(weights)
	if err != nil {
		return EvalResult{}, err
	}
	set, err := EvalSet(m.Spec(), dir)
	if err != nil {
		return EvalResult{}, err
	}
	return Evaluate(m, set)
}
