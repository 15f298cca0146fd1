package runs

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Stat summarizes one metric over the runs of a group that have it. Mean,
// Min and Max are null when none has it; Std (the sample standard deviation)
// is null below two values. Nothing is ever NaN.
type Stat struct {
	Mean *float64 `json:"mean"`
	Std  *float64 `json:"std"`
	Min  *float64 `json:"min"`
	Max  *float64 `json:"max"`
	N    int      `json:"n"`
}

// Band is a per-epoch curve of a group: the mean and sample standard
// deviation, at each epoch, of the runs that reached it (Std null below two).
type Band struct {
	Epochs []int      `json:"epochs"`
	Mean   []float64  `json:"mean"`
	Std    []*float64 `json:"std"`
	N      []int      `json:"n"`
}

// Group is a set of compared runs that share the values of the grouping
// settings, with statistics of their results.
type Group struct {
	// Key holds the grouping settings and their shared values.
	Key map[string]any `json:"key"`
	// Label is the key for people ("epochs 50, learning_rate 0.001").
	Label string          `json:"label"`
	Runs  []int64         `json:"runs"`
	Stats map[string]Stat `json:"stats"`
	Bands map[string]Band `json:"bands"`
}

// GroupMetrics names the summary metrics a group has statistics of, in the
// order tables show them.
var GroupMetrics = []string{"test_accuracy", "best_val_accuracy", "best_epoch", "epochs_run", "train_seconds", "ms_per_image"}

// groupMetric reads one summary metric of a run; ok is false where the run
// has no value yet (a test accuracy before the run finished).
func groupMetric(r Run, name string) (v float64, ok bool) {
	switch name {
	case "test_accuracy":
		if r.Test != nil {
			return r.Test.Accuracy, true
		}
	case "best_val_accuracy":
		acc, _, ok := r.BestValidation()
		return acc, ok
	case "best_epoch":
		_, ep, ok := r.BestValidation()
		return float64(ep), ok
	case "epochs_run":
		return float64(len(r.Epochs)), true
	case "train_seconds":
		s := r.TrainingSeconds()
		return s, s > 0
	case "ms_per_image":
		if r.Test != nil {
			return r.Test.MsPerImage, true
		}
	}
	return 0, false
}

// bandMetrics are the per-epoch curves a group draws as mean ± std.
var bandMetrics = []string{"loss", "accuracy", "val_loss", "val_accuracy", "char_accuracy", "val_char_accuracy"}

// epochMetric reads one per-epoch metric; ok is false where the epoch has
// none (no validation set, a one-head model's character accuracy).
func epochMetric(e Epoch, name string) (float64, bool) {
	var p *float64
	switch name {
	case "loss":
		return e.Loss, true
	case "accuracy":
		p = e.Accuracy
	case "val_loss":
		p = e.ValLoss
	case "val_accuracy":
		p = e.ValAccuracy
	case "char_accuracy":
		p = e.CharAccuracy
	case "val_char_accuracy":
		p = e.ValCharAccuracy
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

// GroupKeys are the settings runs can be grouped by: the Spec's top-level
// fields (by their JSON names) and the run's experiment and preset.
func GroupKeys() []string {
	return []string{"experiment", "preset", "dataset", "preprocessing", "optimizer", "epochs", "batch_size",
		"learning_rate", "train_fraction", "val_fraction", "train_limit", "seed", "heads", "layers", "source",
		"early_stopping", "reduce_lr"}
}

// UnknownGroupKeyError names a grouping setting that does not exist.
type UnknownGroupKeyError struct{ Key string }

func (e *UnknownGroupKeyError) Error() string {
	key := e.Key
	if len(key) > 40 {
		key = key[:40] + "…"
	}
	return fmt.Sprintf("cannot group by %q: use one or more of %s", key, strings.Join(GroupKeys(), ", "))
}

// settingValues returns a run's value of each grouping setting, as JSON values.
func settingValues(r Run) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(r.Spec)
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	m["experiment"] = r.Experiment
	m["preset"] = r.Preset
	return m
}

// GroupBy splits runs into groups that share the values of the settings in
// by (in the order of the first run of each group), with statistics of their
// summary metrics and mean ± std curves. An empty by groups runs that differ
// only by seed: every setting but the seed must match. Unknown settings are
// an *UnknownGroupKeyError.
func GroupBy(rs []Run, by []string) ([]Group, error) {
	for _, k := range by {
		if !slices.Contains(GroupKeys(), k) {
			return nil, &UnknownGroupKeyError{Key: k}
		}
	}
	keys := by
	if len(keys) == 0 {
		keys = slices.DeleteFunc(GroupKeys(), func(k string) bool { return k == "seed" || k == "experiment" || k == "preset" })
	}
	var groups []*Group
	byID := map[string]*Group{}
	for _, r := range rs {
		vals := settingValues(r)
		key := map[string]any{}
		for _, k := range keys {
			key[k] = vals[k]
		}
		id, _ := json.Marshal(key) // map keys marshal sorted: a stable identity
		g, ok := byID[string(id)]
		if !ok {
			g = &Group{Key: key, Label: groupLabel(key, by, r)}
			byID[string(id)] = g
			groups = append(groups, g)
		}
		g.Runs = append(g.Runs, r.ID)
	}
	index := make(map[int64]Run, len(rs))
	for _, r := range rs {
		index[r.ID] = r
	}
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		members := make([]Run, len(g.Runs))
		for i, id := range g.Runs {
			members[i] = index[id]
		}
		g.Stats = make(map[string]Stat, len(GroupMetrics))
		for _, name := range GroupMetrics {
			var xs []float64
			for _, r := range members {
				if v, ok := groupMetric(r, name); ok {
					xs = append(xs, v)
				}
			}
			g.Stats[name] = Summarize(xs)
		}
		g.Bands = make(map[string]Band, len(bandMetrics))
		for _, name := range bandMetrics {
			g.Bands[name] = band(members, name)
		}
		if len(by) == 0 {
			g.Key = map[string]any{}
		}
		out = append(out, *g)
	}
	return out, nil
}

// groupLabel names a group by its key's settings, or, for seed groups, by
// the experiment of its first run.
func groupLabel(key map[string]any, by []string, first Run) string {
	if len(by) == 0 {
		return first.Experiment
	}
	parts := make([]string, 0, len(by))
	for _, k := range by {
		parts = append(parts, k+" "+valueString(key[k]))
	}
	return strings.Join(parts, ", ")
}

func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// Summarize returns the mean, sample standard deviation, minimum and maximum
// of xs, with nulls where a statistic does not exist.
func Summarize(xs []float64) Stat {
	s := Stat{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	lo, hi, sum := xs[0], xs[0], 0.0
	for _, x := range xs {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	mean := sum / float64(len(xs))
	s.Mean, s.Min, s.Max = &mean, &lo, &hi
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		std := math.Sqrt(ss / float64(len(xs)-1))
		s.Std = &std
	}
	return s
}

func band(rs []Run, metric string) Band {
	per := map[int][]float64{}
	for _, r := range rs {
		for _, e := range r.Epochs {
			if v, ok := epochMetric(e, metric); ok {
				per[e.Epoch] = append(per[e.Epoch], v)
			}
		}
	}
	b := Band{Epochs: make([]int, 0, len(per)), Mean: make([]float64, 0, len(per)), Std: make([]*float64, 0, len(per)), N: make([]int, 0, len(per))}
	for ep := range per {
		b.Epochs = append(b.Epochs, ep)
	}
	sort.Ints(b.Epochs)
	for _, ep := range b.Epochs {
		st := Summarize(per[ep])
		b.Mean = append(b.Mean, *st.Mean)
		b.Std = append(b.Std, st.Std)
		b.N = append(b.N, st.N)
	}
	return b
}
