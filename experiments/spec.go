package experiments

// Dataset names a dataset a Spec trains on.
const (
	DatasetMNIST   = "mnist"
	DatasetCaptcha = "captcha"
)

// Layer types a Spec may list.
const (
	LayerDense     = "dense"
	LayerConv2D    = "conv2d"
	LayerMaxPool2D = "maxpool2d"
	LayerDropout   = "dropout"
	LayerFlatten   = "flatten"
	LayerBatchNorm = "batchnorm"
)

// Activations a Dense or Conv2D layer may apply.
const (
	ActNone    = ""
	ActReLU    = "relu"
	ActSoftmax = "softmax"
)

// Padding modes of a Conv2D layer.
const (
	PadSame  = "same"
	PadValid = "valid"
)

// Optimizers a Spec may name.
const (
	OptAdam = "adam"
	OptSGD  = "sgd"
)

// Preprocessing modes of CAPTCHA images.
const (
	PreNone    = "nopre"
	PreDenoise = "dn"
)

// Captcha sources.
const (
	SourceSynthetic = "synthetic"
	SourceDataset   = "dataset"
)

// Layer is one layer of a model, in order from input to output. Only the
// fields that belong to its Type are read; the others stay zero.
type Layer struct {
	// Type is one of the Layer* constants.
	Type string `json:"type"`
	// Units is the width of a Dense layer.
	Units int `json:"units,omitempty"`
	// Filters is the number of output channels of a Conv2D layer.
	Filters int `json:"filters,omitempty"`
	// Kernel is the square kernel size of a Conv2D layer.
	Kernel int `json:"kernel,omitempty"`
	// Padding is "same" or "valid" for a Conv2D layer (stride is always 1).
	Padding string `json:"padding,omitempty"`
	// Pool is the square window and stride of a MaxPool2D layer.
	Pool int `json:"pool,omitempty"`
	// Rate is the fraction of units a Dropout layer drops while training.
	Rate float64 `json:"rate,omitempty"`
	// Activation is "relu", "softmax" (last Dense only) or empty.
	Activation string `json:"activation,omitempty"`
}

// Source says where a CAPTCHA dataset comes from.
type Source struct {
	// Kind is "synthetic" (drawn by trainyard) or "dataset" (an imported folder).
	Kind string `json:"kind"`
	// Images is the number of synthetic images to draw (default 2000).
	Images int `json:"images,omitempty"`
	// Seed draws the synthetic images (default 1).
	Seed int64 `json:"seed,omitempty"`
	// DatasetID names an imported dataset when Kind is "dataset".
	DatasetID int64 `json:"dataset_id,omitempty"`
}

// EarlyStopping stops training when the validation loss has not improved for
// Patience epochs, with Keras semantics.
type EarlyStopping struct {
	// Patience is the number of epochs without improvement to wait.
	Patience int `json:"patience"`
	// MinDelta is the smallest decrease that counts as an improvement.
	MinDelta float64 `json:"min_delta,omitempty"`
	// RestoreBest puts back the weights of the best epoch when training stops.
	RestoreBest bool `json:"restore_best"`
}

// ReduceLR multiplies the learning rate by Factor when the validation loss has
// not improved for Patience epochs, never going below MinLR (Keras ReduceLROnPlateau).
type ReduceLR struct {
	Factor   float64 `json:"factor"`
	Patience int     `json:"patience"`
	MinLR    float64 `json:"min_lr"`
}

// Spec is everything needed to train one model: the data, the layers and the
// training settings. A run stores its own copy.
type Spec struct {
	// Dataset is "mnist" or "captcha".
	Dataset string `json:"dataset"`
	// Source chooses the CAPTCHA images; nil for MNIST.
	Source *Source `json:"source,omitempty"`
	// Preprocessing is "nopre" or "dn" for CAPTCHA images, empty for MNIST.
	Preprocessing string `json:"preprocessing,omitempty"`
	// Layers lists the model from input to output. The last layer is a Dense
	// softmax layer with one unit per class; with Heads > 1 it is repeated per head.
	Layers []Layer `json:"layers"`
	// Heads is the number of output heads sharing the trunk (1 for MNIST, 4 for CAPTCHA).
	Heads int `json:"heads"`
	// Optimizer is "adam" or "sgd".
	Optimizer string `json:"optimizer"`
	// Epochs is the most epochs to train (1..1000).
	Epochs int `json:"epochs"`
	// BatchSize is the number of images per step (1..60000).
	BatchSize int `json:"batch_size"`
	// LearningRate is the optimizer's initial step size (> 0, <= 10).
	LearningRate float64 `json:"learning_rate"`
	// TrainFraction is the share of the training images used for training.
	TrainFraction float64 `json:"train_fraction"`
	// ValFraction is the share of the training images held out for validation.
	ValFraction float64 `json:"val_fraction"`
	// TrainLimit caps the number of training images when > 0 (quick runs).
	TrainLimit int `json:"train_limit,omitempty"`
	// Seed makes shuffling, splits and initial weights repeatable.
	Seed int64 `json:"seed"`
	// EarlyStopping is optional.
	EarlyStopping *EarlyStopping `json:"early_stopping,omitempty"`
	// ReduceLR is optional.
	ReduceLR *ReduceLR `json:"reduce_lr,omitempty"`
	// Device is the kind of worker device the run trains on: "any" (the
	// default, also when empty), "cpu" or "gpu".
	Device string `json:"device"`
}

// Classes is the number of classes of each output head of the spec's dataset.
func (s Spec) Classes() int {
	if s.Dataset == DatasetCaptcha {
		return 19
	}
	return 10
}

// InputShape is the (channels, height, width) of one input image after preprocessing.
func (s Spec) InputShape() (c, h, w int) {
	if s.Dataset == DatasetCaptcha {
		if s.Preprocessing == PreDenoise {
			return 1, 50, 130
		}
		return 3, 50, 130
	}
	return 1, 28, 28
}

// Clone returns a deep copy of s, so edits to it never reach s.
func (s Spec) Clone() Spec {
	c := s
	c.Layers = append([]Layer(nil), s.Layers...)
	if s.Source != nil {
		src := *s.Source
		c.Source = &src
	}
	if s.EarlyStopping != nil {
		es := *s.EarlyStopping
		c.EarlyStopping = &es
	}
	if s.ReduceLR != nil {
		r := *s.ReduceLR
		c.ReduceLR = &r
	}
	return c
}
