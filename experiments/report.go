package experiments

// ReportFigures are the seed report's own results for one experiment; zero
// means the report gives none.
type ReportFigures struct {
	Accuracy      float64 `json:"accuracy,omitempty"`
	ImageAccuracy float64 `json:"image_accuracy,omitempty"`
	CharAccuracy  float64 `json:"char_accuracy,omitempty"`
	MsPerImage    float64 `json:"ms_per_image,omitempty"`
	TrainSeconds  float64 `json:"train_seconds,omitempty"`
	Note          string  `json:"note,omitempty"`
}

// ReportEntry is one experiment of the seed report: a preset with its epochs
// and, where the report trained on another split, that split.
type ReportEntry struct {
	Key    string `json:"key"`
	Label  string `json:"label"`
	Preset string `json:"preset"`
	Epochs int    `json:"epochs"`
	// TrainLimit caps the training images (0: the preset's split).
	TrainLimit int `json:"train_limit,omitempty"`
	// TrainFraction and ValFraction replace the preset's split when set.
	TrainFraction float64       `json:"train_fraction,omitempty"`
	ValFraction   float64       `json:"val_fraction,omitempty"`
	Report        ReportFigures `json:"report"`
}

// Spec is the preset's spec with the entry's epochs and split.
func (e ReportEntry) Spec(preset Spec) Spec {
	s := preset.Clone()
	s.Epochs = e.Epochs
	if e.TrainLimit > 0 {
		s.TrainLimit = e.TrainLimit
	}
	if e.TrainFraction > 0 {
		s.TrainFraction, s.ValFraction = e.TrainFraction, e.ValFraction
	}
	return s
}

// ReportComparison is one comparison the report draws between entries.
type ReportComparison struct {
	Title string   `json:"title"`
	Keys  []string `json:"keys"`
	Note  string   `json:"note"`
}

// SeedReportKind names the suite that reproduces the seed report.
const SeedReportKind = "seed-report"

// SeedReport lists every experiment of the seed report (SEED-REPORT.md) with
// the report's figures.
func SeedReport() []ReportEntry {
	return []ReportEntry{
		{Key: "nn1-30", Label: "NN model 1, 30 epochs", Preset: "mnist-nn1", Epochs: 30, Report: ReportFigures{Accuracy: 0.9685}},
		{Key: "nn1-20", Label: "NN model 1, 20 epochs", Preset: "mnist-nn1", Epochs: 20, TrainLimit: 2750,
			Report: ReportFigures{Accuracy: 0.9286, Note: "on a smaller split (here the 2,750 images of NN 2's)"}},
		{Key: "nn2", Label: "NN model 2, 30 epochs", Preset: "mnist-nn2", Epochs: 30, TrainLimit: 2750, Report: ReportFigures{Accuracy: 0.9163, Note: "2,750-image split"}},
		{Key: "cnn1-50", Label: "CNN model 1, 50 epochs", Preset: "mnist-cnn1", Epochs: 50, Report: ReportFigures{Accuracy: 0.98, Note: "about"}},
		{Key: "cnn1-15", Label: "CNN model 1, 15 epochs", Preset: "mnist-cnn1", Epochs: 15, TrainLimit: 11000, Report: ReportFigures{Accuracy: 0.9762, Note: "11,000-image split"}},
		{Key: "cnn2", Label: "CNN model 2, 10 epochs", Preset: "mnist-cnn2", Epochs: 10, TrainFraction: 0.8, ValFraction: 0.2,
			Report: ReportFigures{Accuracy: 0.991, Note: "48,000 train / 12,000 validation"}},
		{Key: "cap1-50", Label: "CAPTCHA model 1, 50 epochs", Preset: "captcha-model1", Epochs: 50,
			Report: ReportFigures{ImageAccuracy: 0.904, CharAccuracy: 0.936, MsPerImage: 163, TrainSeconds: 1250}},
		{Key: "cap1-100", Label: "CAPTCHA model 1, 100 epochs", Preset: "captcha-model1", Epochs: 100,
			Report: ReportFigures{ImageAccuracy: 0.9453, CharAccuracy: 0.9658, MsPerImage: 175, TrainSeconds: 2175, Note: "early-stopped at 87"}},
		{Key: "cap2-100", Label: "CAPTCHA model 2, 100 epochs", Preset: "captcha-model2", Epochs: 100,
			Report: ReportFigures{ImageAccuracy: 0.9653, CharAccuracy: 0.9898, MsPerImage: 323, Note: "early-stopped at 64"}},
	}
}

// SeedReportComparisons are the report's comparisons, in its order.
func SeedReportComparisons() []ReportComparison {
	return []ReportComparison{
		{Title: "NN 1: 30 vs 20 epochs", Keys: []string{"nn1-30", "nn1-20"}, Note: "More epochs help the MLP."},
		{Title: "NN 1 vs NN 2", Keys: []string{"nn1-30", "nn2"}, Note: "Bigger is not better: NN 2 overfits its small split."},
		{Title: "CNN 1: 50 vs 15 epochs", Keys: []string{"cnn1-50", "cnn1-15"}, Note: "Longer training gains little."},
		{Title: "CNN 1 vs CNN 2", Keys: []string{"cnn1-50", "cnn2"}, Note: "Dropout cures overfitting."},
		{Title: "NN vs CNN", Keys: []string{"nn1-30", "nn2", "cnn1-50", "cnn2"}, Note: "Convolutions win on images."},
		{Title: "CAPTCHA model 1: 50 vs 100 epochs", Keys: []string{"cap1-50", "cap1-100"}, Note: "Early stopping ends the longer run at 87 epochs."},
		{Title: "CAPTCHA model 1 vs model 2", Keys: []string{"cap1-100", "cap2-100"}, Note: "Model 1 when speed matters, model 2 when accuracy does."},
	}
}
