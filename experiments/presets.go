package experiments

// Preset is a named, ready-to-run Spec from the seed report.
type Preset struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Spec        Spec   `json:"spec"`
}

func dense(units int, act string) Layer {
	return Layer{Type: LayerDense, Units: units, Activation: act}
}
func conv(filters, kernel int, pad string) Layer {
	return Layer{Type: LayerConv2D, Filters: filters, Kernel: kernel, Padding: pad, Activation: ActReLU}
}
func pool(k int) Layer           { return Layer{Type: LayerMaxPool2D, Pool: k} }
func dropout(rate float64) Layer { return Layer{Type: LayerDropout, Rate: rate} }
func flatten() Layer             { return Layer{Type: LayerFlatten} }
func batchnorm() Layer           { return Layer{Type: LayerBatchNorm} }

func mnistSpec(epochs int, layers ...Layer) Spec {
	return Spec{
		Dataset:       DatasetMNIST,
		Layers:        layers,
		Heads:         1,
		Optimizer:     OptAdam,
		Epochs:        epochs,
		BatchSize:     256,
		LearningRate:  0.001,
		TrainFraction: 0.5,
		ValFraction:   0.2,
		Seed:          1,
	}
}

func captchaSpec(pre string, epochs int, layers ...Layer) Spec {
	return Spec{
		Dataset:       DatasetCaptcha,
		Source:        &Source{Kind: SourceSynthetic, Images: 2000, Seed: 1},
		Preprocessing: pre,
		Layers:        layers,
		Heads:         4,
		Optimizer:     OptAdam,
		Epochs:        epochs,
		BatchSize:     128,
		LearningRate:  0.001,
		TrainFraction: 0.8,
		ValFraction:   0.2,
		Seed:          1,
		EarlyStopping: &EarlyStopping{Patience: 10, RestoreBest: true},
		ReduceLR:      &ReduceLR{Factor: 0.5, Patience: 5, MinLR: 1e-5},
	}
}

// presets are the seed report's models, built fresh on each call so callers
// may edit what they get.
func presets() []Preset {
	return []Preset{
		{Name: "mnist-nn1", Description: "NN model 1: Dense 256 relu, Dense 10 softmax (203,530 params)",
			Spec: mnistSpec(30, flatten(), dense(256, ActReLU), dense(10, ActSoftmax))},
		{Name: "mnist-nn2", Description: "NN model 2: Dense 512 relu, Dense 10 softmax (407,050 params)",
			Spec: mnistSpec(30, flatten(), dense(512, ActReLU), dense(10, ActSoftmax))},
		{Name: "mnist-cnn1", Description: "CNN model 1: Conv 8 5x5, MaxPool, Conv 16 3x3, Dropout 0.25, Dense 128 (297,706 params)",
			Spec: mnistSpec(50, conv(8, 5, PadSame), pool(2), conv(16, 3, PadValid), flatten(), dropout(0.25),
				dense(128, ActReLU), dense(10, ActSoftmax))},
		{Name: "mnist-cnn2", Description: "CNN model 2: Conv 16 5x5, MaxPool, Conv 36 5x5, MaxPool, Dropout 0.25, Dense 128, Dropout 0.5 (242,062 params)",
			Spec: mnistSpec(10, conv(16, 5, PadSame), pool(2), conv(36, 5, PadSame), pool(2), dropout(0.25), flatten(),
				dense(128, ActReLU), dropout(0.5), dense(10, ActSoftmax))},
		{Name: "captcha-model1", Description: "CAPTCHA model 1: 3 conv blocks with BatchNorm, 4 heads of 19, no preprocessing (866,412 params)",
			Spec: captchaSpec(PreNone, 50,
				conv(32, 5, PadSame), conv(32, 3, PadValid), pool(2),
				conv(64, 5, PadSame), conv(64, 3, PadValid), batchnorm(), pool(2),
				conv(128, 3, PadSame), conv(128, 3, PadValid), pool(2),
				flatten(), dropout(0.5), dense(19, ActSoftmax))},
		{Name: "captcha-model2", Description: "CAPTCHA model 2: 4 conv blocks, denoised grey input, 4 heads of 19 (880,300 params)",
			Spec: captchaSpec(PreDenoise, 100,
				conv(32, 5, PadSame), conv(32, 3, PadValid), pool(2),
				conv(64, 5, PadSame), conv(64, 3, PadValid), pool(2), dropout(0.5),
				conv(128, 3, PadSame), conv(128, 3, PadValid), pool(2),
				conv(128, 3, PadSame), conv(256, 3, PadValid), batchnorm(), pool(2),
				flatten(), dropout(0.5), dense(19, ActSoftmax))},
	}
}

// Presets returns every preset, MNIST first.
func Presets() []Preset { return presets() }

// PresetByName returns the named preset and true, or false when there is none.
func PresetByName(name string) (Preset, bool) {
	for _, p := range presets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// PresetNames lists the presets' names in order.
func PresetNames() []string {
	var names []string
	for _, p := range presets() {
		names = append(names, p.Name)
	}
	return names
}

// FormDefaults is the spec the new-experiment form starts from when no
// preset is offered: a small MLP on MNIST.
func FormDefaults() Spec {
	return Spec{
		Dataset: DatasetMNIST,
		Layers: []Layer{
			{Type: LayerFlatten},
			{Type: LayerDense, Units: 128, Activation: ActReLU},
			{Type: LayerDense, Units: 10, Activation: ActSoftmax},
		},
		Heads: 1, Optimizer: OptAdam, Epochs: 10, BatchSize: 256, LearningRate: 0.001,
		TrainFraction: 0.5, ValFraction: 0.2, Seed: 1,
	}
}

// DefaultCaptchaSource is the source the form offers when CAPTCHA is chosen
// without one: 2,000 synthetic images drawn with seed 1, preprocessed with
// DefaultCaptchaPreprocessing.
func DefaultCaptchaSource() Source { return Source{Kind: SourceSynthetic, Images: 2000, Seed: 1} }

// DefaultCaptchaPreprocessing is the preprocessing the form starts CAPTCHA specs with.
const DefaultCaptchaPreprocessing = PreNone
