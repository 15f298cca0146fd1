package web

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// pct writes a fraction in 0..1 as a percentage with two decimals.
func pct(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
}

// num writes a float in its shortest exact form ("0.001", "0.25").
func num(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// fixed writes a float with n decimals.
func fixed(f float64, n int) string {
	return strconv.FormatFloat(f, 'f', n, 64)
}

// itoa writes an int.
func itoa[T ~int | ~int64](i T) string { return strconv.FormatInt(int64(i), 10) }

// thousands writes an int with comma separators ("203,530").
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// seconds writes a duration in seconds the way people read it ("850 ms", "42.1 s", "3m 05s", "1h 02m").
func seconds(s float64) string {
	switch {
	case s <= 0 || math.IsNaN(s):
		return "–"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s < 60:
		return fmt.Sprintf("%.1f s", s)
	case s < 3600:
		m := int(s) / 60
		return fmt.Sprintf("%dm %02ds", m, int(s)-m*60)
	default:
		h := int(s) / 3600
		return fmt.Sprintf("%dh %02dm", h, (int(s)-h*3600)/60)
	}
}

// when writes a timestamp in UTC to the minute.
func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// runSeconds is the training time of a run: the summed epoch time when known,
// else the wall time from start to finish.
func runSeconds(r runs.Run) float64 {
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

// perEpochSeconds is the mean training time of one epoch, or 0 when no epoch ran.
func perEpochSeconds(r runs.Run) float64 {
	if len(r.Epochs) == 0 {
		return 0
	}
	return runSeconds(r) / float64(len(r.Epochs))
}

// bestVal returns the best validation accuracy of a run and its epoch, from
// the stored epochs, or from the test result when the epochs were not loaded.
func bestVal(r runs.Run) (acc float64, epoch int, ok bool) {
	for _, e := range r.Epochs {
		if !ok || e.ValAccuracy > acc {
			acc, epoch, ok = e.ValAccuracy, e.Epoch, true
		}
	}
	if !ok && r.Test != nil && r.Test.BestEpoch > 0 {
		return r.Test.BestValAccuracy, r.Test.BestEpoch, true
	}
	return acc, epoch, ok
}

// testAccuracy writes a run's test accuracy, or a dash before it has one.
func testAccuracy(r runs.Run) string {
	if r.Test == nil {
		return "–"
	}
	return pct(r.Test.Accuracy)
}

// runURL, experimentURL and friends build the app's links in one place.
func runURL(id int64) templ.SafeURL        { return templ.SafeURL("/runs/" + itoa(id)) }
func experimentURL(id int64) templ.SafeURL { return templ.SafeURL("/experiments/" + itoa(id)) }

// statusURL is the home page filtered by status ("" for all).
func statusURL(s runs.Status) templ.SafeURL {
	if s == "" {
		return "/"
	}
	return templ.SafeURL("/?status=" + string(s))
}

// compareURL links the comparison of the given runs.
func compareURL(rs []runs.Run) templ.SafeURL {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = itoa(r.ID)
	}
	return templ.SafeURL("/compare?runs=" + strings.Join(ids, ","))
}

// sortedExperiments returns a copy of items, newest first.
func sortedExperiments(items []ExperimentItem) []ExperimentItem {
	out := append([]ExperimentItem(nil), items...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// sortedRuns returns a copy of rs, newest first.
func sortedRuns(rs []runs.Run) []runs.Run {
	out := append([]runs.Run(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// layerText describes one layer in a line ("Conv2D 8, 5x5, same, relu").
func layerText(l experiments.Layer) string {
	parts := []string{}
	switch l.Type {
	case experiments.LayerDense:
		parts = append(parts, "Dense "+itoa(l.Units))
	case experiments.LayerConv2D:
		parts = append(parts, "Conv2D "+itoa(l.Filters), itoa(l.Kernel)+"x"+itoa(l.Kernel), l.Padding)
	case experiments.LayerMaxPool2D:
		parts = append(parts, "MaxPool "+itoa(l.Pool))
	case experiments.LayerDropout:
		parts = append(parts, "Dropout "+num(l.Rate))
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

// setting is one labelled value of a spec, for the settings tables.
type setting struct {
	Label, Value string
}

// specSettings lists a spec's training settings in the order people read them.
func specSettings(s experiments.Spec) []setting {
	out := []setting{
		{"Dataset", s.Dataset},
	}
	if s.Dataset == experiments.DatasetCaptcha {
		src := "–"
		if s.Source != nil {
			src = s.Source.Kind
			if s.Source.Kind == experiments.SourceSynthetic {
				src += fmt.Sprintf(" (%d images, seed %d)", s.Source.Images, s.Source.Seed)
			} else {
				src += " #" + itoa(s.Source.DatasetID)
			}
		}
		out = append(out, setting{"Source", src}, setting{"Preprocessing", s.Preprocessing})
	}
	limit := "none"
	if s.TrainLimit > 0 {
		limit = thousands(s.TrainLimit) + " images"
	}
	es, rlr := "off", "off"
	if s.EarlyStopping != nil {
		es = "patience " + itoa(s.EarlyStopping.Patience)
		if s.EarlyStopping.RestoreBest {
			es += ", restore best"
		}
	}
	if s.ReduceLR != nil {
		rlr = fmt.Sprintf("factor %s, patience %d, min LR %s", num(s.ReduceLR.Factor), s.ReduceLR.Patience, num(s.ReduceLR.MinLR))
	}
	return append(out,
		setting{"Heads", itoa(s.Heads)},
		setting{"Optimizer", s.Optimizer},
		setting{"Epochs", itoa(s.Epochs)},
		setting{"Batch size", itoa(s.BatchSize)},
		setting{"Learning rate", num(s.LearningRate)},
		setting{"Training fraction", num(s.TrainFraction)},
		setting{"Validation fraction", num(s.ValFraction)},
		setting{"Training image cap", limit},
		setting{"Seed", itoa(s.Seed)},
		setting{"Early stopping", es},
		setting{"Reduce LR on plateau", rlr},
	)
}

// presetName shows a run's preset, or "custom" when it has none.
func presetName(p string) string {
	if p == "" {
		return "custom"
	}
	return p
}

// epochsText writes the epochs a run has done out of its most ("12/30"), or
// just the most before any epoch finished.
func epochsText(r runs.Run) string {
	if len(r.Epochs) == 0 || len(r.Epochs) == r.Spec.Epochs {
		return itoa(r.Spec.Epochs)
	}
	return itoa(len(r.Epochs)) + "/" + itoa(r.Spec.Epochs)
}

// errorCode is the code the error page shows: 500 unless told.
func errorCode(c int) int {
	if c == 0 {
		return 500
	}
	return c
}

// errorMessage is the error page's line: the message, or a generic one.
func errorMessage(m string) string {
	if m == "" {
		return "The server could not finish this request. Try again, or go back."
	}
	return m
}
