package web

import "strings"

// SweepProps is the sweep section of an experiment page: one row per
// configuration (its seeds averaged), the settings swept and the metric the
// plots colour by.
type SweepProps struct {
	Mode string
	// Params are the swept settings, in the order of the plots' axes.
	Params []string
	// Rows are the configurations; Best indexes the best one (-1 when none
	// has a result yet).
	Rows []SweepRow
	Best int
	// Seeds is how many runs each configuration has.
	Seeds int
	// ASHA is the successive halving the sweep runs under, nil without.
	ASHA *SweepASHA
}

// SweepASHA is a sweep's successive halving: its settings and, for each
// rung, how many runs it stopped there.
type SweepASHA struct {
	Metric    string
	MinEpochs int
	Eta       int
	Rungs     []SweepRung
}

// SweepRung is one rung (an epoch) and the runs stopped at it.
type SweepRung struct {
	Epoch   int
	Stopped int
}

// SweepRow is one configuration of a sweep and how its runs did.
type SweepRow struct {
	Values []float64 `json:"values"`
	// Runs are the configuration's runs; BestRun the one to re-run.
	Runs []int64 `json:"runs"`
	// StopRungs are, aligned with Runs, the rung (epoch) at which
	// successive halving stopped each run, 0 for a run it did not stop.
	StopRungs []int `json:"stop_rungs"`
	BestRun   int64 `json:"best_run"`
	Done      int   `json:"done"`
	// TestAccuracy and BestValAccuracy are the means over the finished
	// seeds (null until one finishes); Std is the test accuracy's sample
	// standard deviation (null below two).
	TestAccuracy    *float64 `json:"test_accuracy"`
	TestAccuracyStd *float64 `json:"test_accuracy_std"`
	BestValAccuracy *float64 `json:"best_val_accuracy"`
}

// sweepData is the data the sweep's plots and table are drawn from.
func sweepData(p SweepProps) map[string]any {
	return map[string]any{"params": p.Params, "rows": p.Rows, "best": p.Best}
}

func sweepTitle(p SweepProps) string {
	var b strings.Builder
	b.WriteString(itoa(len(p.Rows)))
	if len(p.Rows) == 1 {
		b.WriteString(" configuration")
	} else {
		b.WriteString(" configurations")
	}
	if p.Seeds > 1 {
		b.WriteString(" × " + itoa(p.Seeds) + " seeds")
	}
	b.WriteString(" (" + p.Mode + ")")
	return b.String()
}

func sweepValueText(v float64) string { return num(v) }

func ashaText(a SweepASHA) string {
	var b strings.Builder
	b.WriteString("Successive halving by " + a.Metric + " (η = " + itoa(a.Eta) + "): rungs at epoch")
	if len(a.Rungs) != 1 {
		b.WriteString("s")
	}
	for i, r := range a.Rungs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + itoa(r.Epoch))
	}
	b.WriteString("; at each, the runs outside the top 1/" + itoa(a.Eta) + " stop early.")
	return b.String()
}

func stoppedAtText(rung int) string { return "stopped early at epoch " + itoa(rung) }
