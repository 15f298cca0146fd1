package runs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trainyard/trainyard/experiments"
)

// SummaryRow is one run's line in a comparison's summary table.
type SummaryRow struct {
	RunID           int64   `json:"run_id"`
	Label           string  `json:"label"`
	Status          Status  `json:"status"`
	TestAccuracy    float64 `json:"test_accuracy"`
	HasTest         bool    `json:"has_test"`
	BestValAccuracy float64 `json:"best_val_accuracy"`
	BestEpoch       int     `json:"best_epoch"`
	EpochsRun       int     `json:"epochs_run"`
	TotalSeconds    float64 `json:"total_seconds"`
	SecondsPerEpoch float64 `json:"seconds_per_epoch"`
	MsPerImage      float64 `json:"ms_per_image"`
	Params          int     `json:"params"`
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
}

// Compare builds the comparison of runs, which must carry their epochs.
func Compare(runs []Run) Comparison {
	c := Comparison{Runs: runs}
	for _, r := range runs {
		c.Summary = append(c.Summary, summarize(r))
	}
	settings := make([][][2]string, len(runs))
	for i, r := range runs {
		settings[i] = Settings(r.Spec)
	}
	index := map[string]int{}
	for i, s := range settings {
		for _, kv := range s {
			j, ok := index[kv[0]]
			if !ok {
				j = len(c.Params)
				index[kv[0]] = j
				c.Params = append(c.Params, ParamRow{Name: kv[0], Values: make([]string, len(runs))})
			}
			c.Params[j].Values[i] = kv[1]
		}
	}
	for i := range c.Params {
		for _, v := range c.Params[i].Values[1:] {
			if v != c.Params[i].Values[0] {
				c.Params[i].Differs = true
			}
		}
	}
	return c
}

func summarize(r Run) SummaryRow {
	row := SummaryRow{RunID: r.ID, Label: fmt.Sprintf("#%d %s", r.ID, r.Experiment), Status: r.Status,
		EpochsRun: len(r.Epochs), Params: r.Spec.Summarize().TotalParams}
	for _, e := range r.Epochs {
		row.TotalSeconds += e.Seconds
		if e.ValAccuracy > row.BestValAccuracy || row.BestEpoch == 0 {
			row.BestValAccuracy, row.BestEpoch = e.ValAccuracy, e.Epoch
		}
	}
	if row.EpochsRun > 0 {
		row.SecondsPerEpoch = row.TotalSeconds / float64(row.EpochsRun)
	}
	if r.Test != nil {
		row.HasTest = true
		row.TestAccuracy = r.Test.Accuracy
		row.MsPerImage = r.Test.MsPerImage
	}
	return row
}

// Settings lists a spec's settings as name/value pairs in a stable order,
// one per training setting and one per layer, for tables and comparisons.
func Settings(s experiments.Spec) [][2]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	out := [][2]string{
		{"dataset", s.Dataset},
		{"epochs", strconv.Itoa(s.Epochs)},
		{"batch size", strconv.Itoa(s.BatchSize)},
		{"learning rate", f(s.LearningRate)},
		{"optimizer", s.Optimizer},
		{"train fraction", f(s.TrainFraction)},
		{"validation fraction", f(s.ValFraction)},
		{"train image cap", strconv.Itoa(s.TrainLimit)},
		{"seed", strconv.FormatInt(s.Seed, 10)},
		{"params", strconv.Itoa(s.Summarize().TotalParams)},
	}
	if s.Preprocessing != "" {
		out = append(out, [2]string{"preprocessing", s.Preprocessing})
	}
	if s.Source != nil {
		src := s.Source.Kind
		if s.Source.Kind == experiments.SourceSynthetic {
			src = fmt.Sprintf("synthetic, %d images, seed %d", s.Source.Images, s.Source.Seed)
		} else if s.Source.Kind == experiments.SourceDataset {
			src = fmt.Sprintf("dataset %d", s.Source.DatasetID)
		}
		out = append(out, [2]string{"source", src})
	}
	if s.EarlyStopping != nil {
		out = append(out, [2]string{"early stopping", fmt.Sprintf("patience %d, restore best %t", s.EarlyStopping.Patience, s.EarlyStopping.RestoreBest)})
	}
	if s.ReduceLR != nil {
		out = append(out, [2]string{"reduce LR", fmt.Sprintf("factor %g, patience %d, min %g", s.ReduceLR.Factor, s.ReduceLR.Patience, s.ReduceLR.MinLR)})
	}
	for i, l := range s.Layers {
		out = append(out, [2]string{fmt.Sprintf("layer %d", i+1), LayerString(l)})
	}
	return out
}

// LayerString describes a layer in a few words, e.g. "conv2d 16 5x5 same relu".
func LayerString(l experiments.Layer) string {
	var parts []string
	switch l.Type {
	case experiments.LayerDense:
		parts = []string{"dense", strconv.Itoa(l.Units)}
	case experiments.LayerConv2D:
		parts = []string{"conv2d", strconv.Itoa(l.Filters), fmt.Sprintf("%dx%d", l.Kernel, l.Kernel), l.Padding}
	case experiments.LayerMaxPool2D:
		parts = []string{"maxpool2d", strconv.Itoa(l.Pool)}
	case experiments.LayerDropout:
		parts = []string{"dropout", strconv.FormatFloat(l.Rate, 'g', -1, 64)}
	default:
		parts = []string{l.Type}
	}
	if l.Activation != "" {
		parts = append(parts, l.Activation)
	}
	return strings.Join(parts, " ")
}
