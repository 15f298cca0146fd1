package runs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trainyard/trainyard/experiments"
)

// TrainingSeconds is the run's training time: the summed epoch times when
// known, else the wall time from start to finish, else 0.
func (r Run) TrainingSeconds() float64 {
	if r.TrainSeconds > 0 {
		return r.TrainSeconds
	}
	var sum float64
	for _, e := range r.Epochs {
		sum += e.Seconds
	}
	if sum > 0 {
		return sum
	}
	if r.StartedAt != nil && r.FinishedAt != nil {
		return r.FinishedAt.Sub(*r.StartedAt).Seconds()
	}
	return 0
}

// SecondsPerEpoch is the mean training time of one epoch, or 0 when no epoch ran.
func (r Run) SecondsPerEpoch() float64 {
	if len(r.Epochs) == 0 {
		return 0
	}
	return r.TrainingSeconds() / float64(len(r.Epochs))
}

// BestValidation returns the best validation accuracy (image accuracy for
// multi-head models) and its epoch, from the epochs, or from the test result
// when the epochs were not loaded; ok is false when none is known.
func (r Run) BestValidation() (acc float64, epoch int, ok bool) {
	e, ok := r.bestEpoch()
	if ok {
		return *e.ValAccuracy, e.Epoch, true
	}
	if r.Test != nil && r.Test.BestEpoch > 0 && r.Test.BestValAccuracy != nil {
		return *r.Test.BestValAccuracy, r.Test.BestEpoch, true
	}
	return 0, 0, false
}

// BestValCharAccuracy is a multi-head run's validation character accuracy
// at its best validation epoch; ok is false for one head or when unknown.
func (r Run) BestValCharAccuracy() (acc float64, ok bool) {
	if e, ok := r.bestEpoch(); ok {
		if e.ValCharAccuracy == nil {
			return 0, false
		}
		return *e.ValCharAccuracy, true
	}
	if r.Test != nil && r.Test.BestValCharAccuracy != nil {
		return *r.Test.BestValCharAccuracy, true
	}
	return 0, false
}

// bestEpoch is the first epoch with the highest validation accuracy.
func (r Run) bestEpoch() (best Epoch, ok bool) {
	for _, e := range r.Epochs {
		if e.ValAccuracy != nil && (!ok || *e.ValAccuracy > *best.ValAccuracy) {
			best, ok = e, true
		}
	}
	return best, ok
}

// BestOf fills the test result's best validation fields from the epochs.
func (t *TestResult) BestOf(epochs []Epoch) {
	r := Run{Epochs: epochs}
	if e, ok := r.bestEpoch(); ok {
		t.BestValAccuracy, t.BestValCharAccuracy, t.BestEpoch = Float(*e.ValAccuracy), e.ValCharAccuracy, e.Epoch
	}
}

// SummaryRow is one run's line in a comparison's summary table. Accuracies
// are image accuracies (all heads right for multi-head models); the
// character accuracies are set for multi-head models only. A value not
// known yet is null.
type SummaryRow struct {
	RunID               int64    `json:"run_id"`
	Label               string   `json:"label"`
	Status              Status   `json:"status"`
	TestAccuracy        *float64 `json:"test_accuracy"`
	TestCharAccuracy    *float64 `json:"test_char_accuracy"`
	HasTest             bool     `json:"has_test"`
	BestValAccuracy     *float64 `json:"best_val_accuracy"`
	BestValCharAccuracy *float64 `json:"best_val_char_accuracy"`
	BestEpoch           int      `json:"best_epoch"`
	EpochsRun           int      `json:"epochs_run"`
	TotalSeconds        float64  `json:"total_seconds"`
	SecondsPerEpoch     float64  `json:"seconds_per_epoch"`
	MsPerImage          *float64 `json:"ms_per_image"`
	Params              int      `json:"params"`
	// TimeToTarget is the training time (seconds, summed over epochs) until
	// the first epoch whose validation accuracy reached the comparison's
	// Target, and TargetEpoch that epoch; both null when it never did.
	TimeToTarget *float64 `json:"time_to_target"`
	TargetEpoch  *int     `json:"target_epoch"`
}

// ParamRow is one setting across the compared runs.
type ParamRow struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	// Differs is true when not every run has the same value.
	Differs bool `json:"differs"`
}

// Comparison puts runs side by side: their settings and their results.
type Comparison struct {
	Runs    []Run        `json:"runs"`
	Params  []ParamRow   `json:"params"`
	Summary []SummaryRow `json:"summary"`
	// Target is the validation accuracy (a fraction) the summary's
	// time_to_target is measured to (DefaultTarget unless asked).
	Target float64 `json:"target"`
}

// DefaultTarget is the validation accuracy a comparison times the runs to.
const DefaultTarget = 0.9

// TimeToValAccuracy is the training time (summed epoch seconds) until the
// first epoch whose validation accuracy is at least target, and that
// epoch; ok is false when no epoch reached it.
func (r Run) TimeToValAccuracy(target float64) (seconds float64, epoch int, ok bool) {
	for _, e := range r.Epochs {
		seconds += e.Seconds
		if e.ValAccuracy != nil && *e.ValAccuracy >= target {
			return seconds, e.Epoch, true
		}
	}
	return 0, 0, false
}

// SetTarget times every run of the comparison to the validation accuracy
// target (a fraction): the summary's TimeToTarget and TargetEpoch.
func (c *Comparison) SetTarget(target float64) {
	c.Target = target
	for i := range c.Summary {
		c.Summary[i].TimeToTarget, c.Summary[i].TargetEpoch = nil, nil
		if s, ep, ok := c.Runs[i].TimeToValAccuracy(target); ok {
			c.Summary[i].TimeToTarget, c.Summary[i].TargetEpoch = Float(s), &ep
		}
	}
}

// Compare builds the comparison of runs, which should carry their epochs:
// one parameter row for the experiment, preset and device, one per setting
// (matched by name, "–" where a run has none), one per layer position and
// one for the parameter count.
func Compare(rs []Run) Comparison {
	c := Comparison{Runs: rs, Target: DefaultTarget}
	if len(rs) == 0 {
		return c
	}
	for _, r := range rs {
		c.Summary = append(c.Summary, summarize(r))
	}
	c.SetTarget(DefaultTarget)
	add := func(name string, value func(r Run) string) {
		row := ParamRow{Name: name, Values: make([]string, len(rs))}
		for i, r := range rs {
			row.Values[i] = value(r)
			if row.Values[i] != row.Values[0] {
				row.Differs = true
			}
		}
		c.Params = append(c.Params, row)
	}
	add("Experiment", func(r Run) string { return r.Experiment })
	add("Preset", func(r Run) string { return r.Preset })
	add("Device", func(r Run) string { return r.Device })
	settings := make([]map[string]string, len(rs))
	var names []string
	seen := map[string]bool{}
	for i, r := range rs {
		settings[i] = map[string]string{}
		for _, s := range Settings(r.Spec) {
			settings[i][s.Name] = s.Value
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	index := map[int64]int{}
	for i, r := range rs {
		index[r.ID] = i
	}
	for _, name := range names {
		add(name, func(r Run) string {
			if v, ok := settings[index[r.ID]][name]; ok {
				return v
			}
			return "–"
		})
	}
	layers := 0
	for _, r := range rs {
		layers = max(layers, len(r.Spec.Layers))
	}
	for i := range layers {
		add("Layer "+strconv.Itoa(i+1), func(r Run) string {
			if i < len(r.Spec.Layers) {
				return LayerString(r.Spec.Layers[i])
			}
			return "–"
		})
	}
	add("Parameters", func(r Run) string { return thousands(r.Spec.Summarize().TotalParams) })
	return c
}

func summarize(r Run) SummaryRow {
	row := SummaryRow{RunID: r.ID, Label: fmt.Sprintf("#%d %s", r.ID, r.Experiment), Status: r.Status,
		EpochsRun: len(r.Epochs), Params: r.Spec.Summarize().TotalParams,
		TotalSeconds: r.TrainingSeconds(), SecondsPerEpoch: r.SecondsPerEpoch()}
	if acc, ep, ok := r.BestValidation(); ok {
		row.BestValAccuracy, row.BestEpoch = Float(acc), ep
	}
	if acc, ok := r.BestValCharAccuracy(); ok {
		row.BestValCharAccuracy = Float(acc)
	}
	if r.Test != nil {
		row.HasTest = true
		row.TestAccuracy = Float(r.Test.Accuracy)
		row.TestCharAccuracy = r.Test.CharAccuracy
		row.MsPerImage = Float(r.Test.MsPerImage)
	}
	return row
}

// Setting is one named value of a spec, for settings tables and comparisons.
type Setting struct {
	Name, Value string
}

// Settings lists a spec's training settings in the order people read them.
func Settings(s experiments.Spec) []Setting {
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	out := []Setting{{"Dataset", s.Dataset}}
	if s.Dataset == experiments.DatasetCaptcha {
		src := "–"
		if s.Source != nil {
			src = s.Source.Kind
			if s.Source.Kind == experiments.SourceSynthetic {
				src += fmt.Sprintf(" (%d images, seed %d)", s.Source.Images, s.Source.Seed)
			} else {
				src += " #" + strconv.FormatInt(s.Source.DatasetID, 10)
			}
		}
		out = append(out, Setting{"Source", src}, Setting{"Preprocessing", s.Preprocessing})
	}
	limit := "none"
	if s.TrainLimit > 0 {
		limit = thousands(s.TrainLimit) + " images"
		if n := WholeBatches(s.TrainLimit, s.BatchSize); n != s.TrainLimit {
			limit += " (" + thousands(n) + " trained per epoch in whole batches of " + strconv.Itoa(s.BatchSize) + ")"
		}
	}
	es, rlr := "off", "off"
	if s.EarlyStopping != nil {
		es = "patience " + strconv.Itoa(s.EarlyStopping.Patience)
		if s.EarlyStopping.RestoreBest {
			es += ", restore best"
		}
	}
	if s.ReduceLR != nil {
		rlr = fmt.Sprintf("factor %s, patience %d, min LR %s", num(s.ReduceLR.Factor), s.ReduceLR.Patience, num(s.ReduceLR.MinLR))
	}
	return append(out,
		Setting{"Heads", strconv.Itoa(s.Heads)},
		Setting{"Optimizer", s.Optimizer},
		Setting{"Epochs", strconv.Itoa(s.Epochs)},
		Setting{"Batch size", strconv.Itoa(s.BatchSize)},
		Setting{"Learning rate", num(s.LearningRate)},
		Setting{"Training fraction", num(s.TrainFraction)},
		Setting{"Validation fraction", num(s.ValFraction)},
		Setting{"Training image cap", limit},
		Setting{"Seed", strconv.FormatInt(s.Seed, 10)},
		Setting{"Early stopping", es},
		Setting{"Reduce LR on plateau", rlr},
	)
}

// WholeBatches is how many images an epoch over n training images trains
// at the batch size: training runs whole batches, and the last one is
// topped up with images from the start of the epoch's shuffled order.
func WholeBatches(n, batch int) int {
	if n <= 0 || batch <= 0 {
		return n
	}
	return (n + batch - 1) / batch * batch
}

// WholeBatchesNote tells the person setting a training image cap how many
// images an epoch will train when the cap is not a multiple of the batch
// size ("" when it is, or when either is unset).
func WholeBatchesNote(limit, batch int) string {
	n := WholeBatches(limit, batch)
	if limit <= 0 || batch <= 0 || n == limit {
		return ""
	}
	return fmt.Sprintf("Epochs train whole batches: %s images at batch size %d train %s per epoch (the last batch is topped up from the start of the shuffled order). Use a multiple of %d for exactly the cap.",
		thousands(limit), batch, thousands(n), batch)
}

// LayerString describes one layer in a line ("Conv2D 8, 5x5, same, relu").
func LayerString(l experiments.Layer) string {
	var parts []string
	switch l.Type {
	case experiments.LayerDense:
		parts = append(parts, "Dense "+strconv.Itoa(l.Units))
	case experiments.LayerConv2D:
		parts = append(parts, "Conv2D "+strconv.Itoa(l.Filters), fmt.Sprintf("%dx%d", l.Kernel, l.Kernel), l.Padding)
	case experiments.LayerMaxPool2D:
		parts = append(parts, "MaxPool "+strconv.Itoa(l.Pool))
	case experiments.LayerDropout:
		parts = append(parts, "Dropout "+strconv.FormatFloat(l.Rate, 'g', -1, 64))
	case experiments.LayerFlatten:
		parts = append(parts, "Flatten")
	case experiments.LayerBatchNorm:
		parts = append(parts, "BatchNorm")
	default:
		parts = append(parts, l.Type)
	}
	if l.Activation != "" {
		parts = append(parts, l.Activation)
	}
	return strings.Join(parts, ", ")
}

// thousands writes an int with comma separators ("203,530").
func thousands(n int) string { return experiments.Thousands(int64(n)) }
