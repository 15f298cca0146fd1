package runs

import (
	"fmt"
	"strings"
	"time"

	"github.com/trainyard/trainyard/experiments"
)

// Status is where a run is in its life.
type Status string

// The statuses a run moves through: queued -> running -> succeeded | failed |
// cancelled | stopped. A run is stopped when a sweep's successive halving
// (experiments.ASHA) ends it early at a rung ("stopped early" on pages); it
// keeps its epochs and the weights of its last checkpoint.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusStopped   Status = "stopped"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled, StatusStopped}

// Done reports whether the status is final.
func (s Status) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled || s == StatusStopped
}

// Label is the status as pages show it: "stopped early" for stopped, else
// the status itself.
func (s Status) Label() string {
	if s == StatusStopped {
		return "stopped early"
	}
	return string(s)
}

// StatusNames lists the statuses for messages: "queued, running, ...".
func StatusNames() string {
	names := make([]string, len(Statuses))
	for i, s := range Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
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
	ID           int64  `json:"id"`
	ExperimentID int64  `json:"experiment_id"`
	Experiment   string `json:"experiment"`
	Preset       string `json:"preset"`
	Status       Status `json:"status"`
	Error        string `json:"error"`
	Device       string `json:"device"`
	// Worker is the name of the worker of the run's latest attempt (nil
	// while the run has not started).
	Worker *string `json:"worker"`
	// Waiting says why a queued run is not starting (no live worker offers
	// its device kind), nil otherwise. The server fills it in; it is not stored.
	Waiting   *string          `json:"waiting"`
	Spec      experiments.Spec `json:"spec"`
	CreatedAt time.Time        `json:"created_at"`
	// CreatedBy is the user name of whoever submitted its experiment ("" without accounts).
	CreatedBy  string     `json:"created_by"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// TrainSeconds is the time spent training, summed over epochs.
	TrainSeconds float64 `json:"train_seconds"`
	// WeightsPath names the weights (safetensors) of a succeeded run: an
	// artifact ("runs/<id>/weights.safetensors"), or, for a run trained
	// before weights moved into the database and not yet imported, a file
	// relative to the data dir.
	WeightsPath string `json:"-"`
	// WeightsSHA256 is the hex sha256 of the weights, null until known.
	WeightsSHA256 *string     `json:"weights_sha256"`
	Epochs        []Epoch     `json:"epochs"`
	Test          *TestResult `json:"test"`
	// StopRung is, for a stopped run, the epoch of the successive-halving
	// rung that stopped it (0 for every other run).
	StopRung int `json:"stop_rung"`
	// Tags and Note are the person's labels and words on the run.
	Tags []string `json:"tags"`
	Note string   `json:"note"`
}

// Epoch is the metrics of one finished epoch. A metric that is not known is
// nil (null in JSON): the validation metrics of a run without a validation
// set, the character accuracies of a one-head model, and the image accuracy
// of multi-head epochs recorded before it was measured.
type Epoch struct {
	Epoch int     `json:"epoch"`
	Loss  float64 `json:"loss"`
	// Accuracy and ValAccuracy are the share of images the model got right;
	// for a multi-head model (a CAPTCHA) an image is right when every head
	// is, as in TestResult.Accuracy.
	Accuracy    *float64 `json:"accuracy"`
	ValLoss     *float64 `json:"val_loss"`
	ValAccuracy *float64 `json:"val_accuracy"`
	// CharAccuracy and ValCharAccuracy are, for multi-head models, the share
	// of characters (head predictions) right.
	CharAccuracy    *float64 `json:"char_accuracy"`
	ValCharAccuracy *float64 `json:"val_char_accuracy"`
	LearningRate    float64  `json:"learning_rate"`
	Seconds         float64  `json:"seconds"`
	// Heads holds per-head metrics of multi-head models (empty for one head).
	Heads []HeadMetrics `json:"heads"`
}

// Float returns a pointer to v, for the optional metrics.
func Float(v float64) *float64 { return &v }

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
	// ImageAccuracy, CharAccuracy and PerPosition are set for multi-head models
	// (null, or empty, for one head): all heads right (equal to Accuracy),
	// characters right, and each head's accuracy.
	ImageAccuracy *float64  `json:"image_accuracy"`
	CharAccuracy  *float64  `json:"char_accuracy"`
	PerPosition   []float64 `json:"per_position"`
	// BestValAccuracy and BestEpoch are copied from the epochs for summaries:
	// the best validation (image) accuracy and its epoch, null and 0 when
	// the run had no validation set. BestValCharAccuracy is the validation
	// character accuracy of that epoch for multi-head models.
	BestValAccuracy     *float64 `json:"best_val_accuracy"`
	BestValCharAccuracy *float64 `json:"best_val_char_accuracy"`
	BestEpoch           int      `json:"best_epoch"`
}

// ArtifactPrefix starts the name of every artifact that belongs to run id
// (its weights and checkpoint); deleting the run deletes them.
func ArtifactPrefix(id int64) string { return fmt.Sprintf("runs/%d/", id) }

// WeightsArtifact names run id's weights in the artifact store.
func WeightsArtifact(id int64) string { return ArtifactPrefix(id) + "weights.safetensors" }

// CheckpointArtifact names run id's last checkpoint in the artifact store.
func CheckpointArtifact(id int64) string { return ArtifactPrefix(id) + "checkpoint" }
