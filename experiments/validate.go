package experiments

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a Spec's settings, shared by validation and the form.
const (
	MaxEpochs      = 1000
	MaxBatchSize   = 60000
	MaxLearnRate   = 10.0
	MaxRepeats     = 20
	MaxTrainImages = 60000
	MaxHeads       = 8
	// MaxSynthetic is the most images a synthetic CAPTCHA source may draw.
	MaxSynthetic = 50000
	// MaxLayers is the most layers a model may list.
	MaxLayers = 64
	// MaxNameLen is the most characters an experiment's name may have.
	MaxNameLen = 200
)

// CheckName returns why name cannot name an experiment (too long, not
// UTF-8, or holding control characters such as newlines), or "" when it can.
func CheckName(name string) string {
	if !utf8.ValidString(name) {
		return "name must be UTF-8 text"
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return fmt.Sprintf("name must be at most %d characters; it has %d", MaxNameLen, n)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("name must not contain control characters (found %U)", r)
		}
	}
	return ""
}

// ValidationError holds every field error of a Spec at once, keyed by the
// field's JSON path ("epochs", "layers[2].kernel").
type ValidationError struct {
	Fields map[string]string
}

// Error lists the field errors in a stable order.
func (e *ValidationError) Error() string { return "invalid spec: " + e.Joined(": ") }

// Joined lists the field errors sorted by field, "field<sep>message" each,
// separated by "; ".
func (e *ValidationError) Joined(sep string) string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + sep + e.Fields[k]
	}
	return strings.Join(parts, "; ")
}

// Validate checks every field of the spec and returns a *ValidationError
// naming each invalid field with its limit, or nil.
func (s Spec) Validate() error {
	var errs map[string]string
	tooMany := len(s.Layers) > MaxLayers
	if tooMany {
		// Not walked: one error for the count, not one per layer.
		errs = map[string]string{"layers": fmt.Sprintf("a model has at most %d layers; this one has %d", MaxLayers, len(s.Layers))}
	} else {
		_, errs = s.Shapes()
	}
	switch s.Dataset {
	case DatasetMNIST:
		if s.Preprocessing != "" {
			errs["preprocessing"] = "MNIST takes no preprocessing"
		}
	case DatasetCaptcha:
		if s.Preprocessing != PreNone && s.Preprocessing != PreDenoise {
			errs["preprocessing"] = `preprocessing must be "nopre" or "dn"`
		}
		s.validateSource(errs)
	default:
		errs["dataset"] = `dataset must be "mnist" or "captcha"`
	}
	if s.Heads < 1 || s.Heads > MaxHeads {
		errs["heads"] = fmt.Sprintf("heads must be 1..%d", MaxHeads)
	}
	if s.Dataset == DatasetMNIST && s.Heads != 1 {
		errs["heads"] = "MNIST models have 1 head"
	}
	if n := len(s.Layers); n == 0 {
		errs["layers"] = "add at least one layer: the last is a dense softmax layer with one unit per class"
	} else if last := s.Layers[n-1]; !tooMany && (last.Type != LayerDense || last.Activation != ActSoftmax || last.Units != s.Classes()) {
		errs[fmt.Sprintf("layers[%d]", n-1)] = fmt.Sprintf("the last layer must be dense with %d units and softmax activation", s.Classes())
	}
	for i, l := range s.Layers[:max(min(len(s.Layers), MaxLayers)-1, 0)] {
		if l.Activation == ActSoftmax {
			errs[fmt.Sprintf("layers[%d].activation", i)] = "softmax is only allowed on the last layer"
		}
	}
	if s.Optimizer != OptAdam && s.Optimizer != OptSGD {
		errs["optimizer"] = `optimizer must be "adam" or "sgd"`
	}
	if s.Device != "" && s.Device != DeviceAny && s.Device != DeviceCPU && s.Device != DeviceGPU {
		errs["device"] = `device must be "any", "cpu" or "gpu"`
	}
	if s.Epochs < 1 || s.Epochs > MaxEpochs {
		errs["epochs"] = fmt.Sprintf("epochs must be 1..%d", MaxEpochs)
	}
	if s.BatchSize < 1 || s.BatchSize > MaxBatchSize {
		errs["batch_size"] = fmt.Sprintf("batch size must be 1..%d", MaxBatchSize)
	}
	if !(s.LearningRate > 0 && s.LearningRate <= MaxLearnRate) {
		errs["learning_rate"] = fmt.Sprintf("learning rate must be > 0 and <= %g", MaxLearnRate)
	}
	if !(s.TrainFraction > 0 && s.TrainFraction <= 1) {
		errs["train_fraction"] = "training fraction must be > 0 and <= 1"
	}
	if !(s.ValFraction >= 0 && s.ValFraction < 1) {
		errs["val_fraction"] = "validation fraction must be >= 0 and < 1"
	} else if s.TrainFraction+s.ValFraction > 1+1e-9 {
		errs["val_fraction"] = "training and validation fractions together must be <= 1"
	}
	if s.TrainLimit < 0 || s.TrainLimit > MaxTrainImages {
		errs["train_limit"] = fmt.Sprintf("training image cap must be 0 (no cap)..%d", MaxTrainImages)
	}
	if es := s.EarlyStopping; es != nil {
		if es.Patience < 0 || es.Patience > MaxEpochs {
			errs["early_stopping.patience"] = fmt.Sprintf("patience must be 0..%d", MaxEpochs)
		}
		if es.MinDelta < 0 {
			errs["early_stopping.min_delta"] = "min delta must be >= 0"
		}
	}
	if r := s.ReduceLR; r != nil {
		if !(r.Factor > 0 && r.Factor < 1) {
			errs["reduce_lr.factor"] = "factor must be > 0 and < 1"
		}
		if r.Patience < 0 || r.Patience > MaxEpochs {
			errs["reduce_lr.patience"] = fmt.Sprintf("patience must be 0..%d", MaxEpochs)
		}
		if r.MinLR < 0 || r.MinLR > MaxLearnRate {
			errs["reduce_lr.min_lr"] = fmt.Sprintf("minimum learning rate must be 0..%g", MaxLearnRate)
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func (s Spec) validateSource(errs map[string]string) {
	src := s.Source
	if src == nil {
		errs["source"] = "choose a CAPTCHA source: synthetic or an imported dataset"
		return
	}
	switch src.Kind {
	case SourceSynthetic:
		if src.Images < 10 || src.Images > MaxSynthetic {
			errs["source.images"] = fmt.Sprintf("synthetic images must be 10..%d", MaxSynthetic)
		}
	case SourceDataset:
		if src.DatasetID < 1 {
			errs["source.dataset_id"] = "choose an imported dataset"
		}
	default:
		errs["source.kind"] = `source must be "synthetic" or "dataset"`
	}
}
