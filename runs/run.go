package runs

import (
	"time"

	"github.com/trainyard/trainyard/experiments"
)

// Status is where a run is in its life.
type Status string

// The statuses a run moves through: queued -> running -> succeeded | failed | cancelled.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled}

// Done reports whether the status is final.
func (s Status) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Run is one training of one Spec: what happened to it and what came out.
type Run struct {
	ID           int64            `json:"id"`
	ExperimentID int64            `json:"experiment_id"`
	Experiment   string           `json:"experiment"`
	Preset       string           `json:"preset"`
	Status       Status           `json:"status"`
	Error        string           `json:"error"`
	Device       string           `json:"device"`
	Spec         experiments.Spec `json:"spec"`
	CreatedAt    time.Time        `json:"created_at"`
	// CreatedBy is the user name of whoever submitted its experiment ("" without accounts).
	CreatedBy  string     `json:"created_by"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// TrainSeconds is the time spent training, summed over epochs.
	TrainSeconds float64 `json:"train_seconds"`
	// WeightsPath is the safetensors file of a succeeded run, relative to the data dir.
	WeightsPath string      `json:"-"`
	Epochs      []Epoch     `json:"epochs"`
	Test        *TestResult `json:"test"`
	// Tags and Note are the person's labels and words on the run.
	Tags []string `json:"tags"`
	Note string   `json:"note"`
}

// Epoch is the metrics of one finished epoch.
type Epoch struct {
	Epoch        int     `json:"epoch"`
	Loss         float64 `json:"loss"`
	Accuracy     float64 `json:"accuracy"`
	ValLoss      float64 `json:"val_loss"`
	ValAccuracy  float64 `json:"val_accuracy"`
	LearningRate float64 `json:"learning_rate"`
	Seconds      float64 `json:"seconds"`
	// Heads holds per-head metrics of multi-head models.
	Heads []HeadMetrics `json:"heads,omitempty"`
}

// HeadMetrics is one output head's loss and accuracy in an epoch.
type HeadMetrics struct {
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
}

// Example is one misclassified test image.
type Example struct {
	// Index is the image's position in the test set.
	Index int `json:"index"`
	// Truth and Predicted are class names ("7", or "7F37" for CAPTCHAs).
	Truth     string `json:"truth"`
	Predicted string `json:"predicted"`
	// PNG is the image, base64-encoded PNG, small enough to inline.
	PNG string `json:"png,omitempty"`
}

// TestResult is a finished run's evaluation on its test set.
type TestResult struct {
	Images     int     `json:"images"`
	Loss       float64 `json:"loss"`
	Accuracy   float64 `json:"accuracy"`
	MsPerImage float64 `json:"ms_per_image"`
	// Confusion[truth][predicted] counts test images (characters for CAPTCHAs).
	Confusion     [][]int   `json:"confusion"`
	Classes       []string  `json:"classes"`
	Misclassified []Example `json:"misclassified"`
	// ImageAccuracy, CharAccuracy and PerPosition are set for multi-head models:
	// all heads right, characters right, and each head's accuracy.
	ImageAccuracy float64   `json:"image_accuracy,omitempty"`
	CharAccuracy  float64   `json:"char_accuracy,omitempty"`
	PerPosition   []float64 `json:"per_position,omitempty"`
	// BestValAccuracy and BestEpoch are copied from the epochs for summaries.
	BestValAccuracy float64 `json:"best_val_accuracy"`
	BestEpoch       int     `json:"best_epoch"`
}
