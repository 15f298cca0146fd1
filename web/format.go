package web

import (
	"fmt"
	"math"
	"slices"
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

// plural writes a count with its noun, singular for one ("1 epoch", "3 epochs").
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// pctp writes an optional fraction as a percentage, "–" when unknown.
func pctp(f *float64) string {
	if f == nil {
		return "–"
	}
	return pct(*f)
}

// fixedp writes an optional float with n decimals, "–" when unknown.
func fixedp(f *float64, n int) string {
	if f == nil {
		return "–"
	}
	return fixed(*f, n)
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

// thousands writes an int with comma separators ("203,530"), as
// experiments.Thousands does for every page and message.
func thousands(n int) string { return experiments.Thousands(int64(n)) }

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
func layerText(l experiments.Layer) string { return runs.LayerString(l) }

// specSettings lists a spec's training settings in the order people read them.
func specSettings(s experiments.Spec) []runs.Setting { return runs.Settings(s) }

// experimentSettings lists an experiment's settings. A setting its runs
// differ by names every value: the seeds ("1, 2, 3: one per run", "1–8" for
// a range) and a sweep's settings ("0.01, 0.001, 0.0001 (swept)", in the
// order the runs were queued). A setting all runs share shows its one value.
func experimentSettings(s experiments.Spec, rs []runs.Run) []runs.Setting {
	out := specSettings(s)
	if len(rs) < 2 {
		return out
	}
	queued := append([]runs.Run(nil), rs...)
	sort.Slice(queued, func(i, j int) bool { return queued[i].ID < queued[j].ID })
	values := map[string][]string{} // a row's distinct values, first seen first
	for _, r := range queued {
		for _, set := range specSettings(r.Spec) {
			if !slices.Contains(values[set.Name], set.Value) {
				values[set.Name] = append(values[set.Name], set.Value)
			}
		}
	}
	for i := range out {
		vs := values[out[i].Name]
		switch {
		case len(vs) == 1:
			out[i].Value = vs[0]
		case len(vs) > 1 && out[i].Name == "Seed":
			out[i].Value = seedsText(queued) + ": one per run"
		case len(vs) > 1:
			out[i].Value = strings.Join(vs, ", ") + " (swept)"
		}
	}
	return out
}

// seedsText names the seeds of runs in ascending order: "1, 2, 3", or
// "1–8" for a range of more than three.
func seedsText(rs []runs.Run) string {
	seeds := make([]int64, 0, len(rs))
	for _, r := range rs {
		if !slices.Contains(seeds, r.Spec.Seed) {
			seeds = append(seeds, r.Spec.Seed)
		}
	}
	slices.Sort(seeds)
	if n := len(seeds); n > 3 && seeds[n-1]-seeds[0] == int64(n-1) {
		return itoa(seeds[0]) + "–" + itoa(seeds[n-1])
	}
	parts := make([]string, len(seeds))
	for i, sd := range seeds {
		parts[i] = itoa(sd)
	}
	return strings.Join(parts, ", ")
}

// sweptLayers names the layer settings a sweep varies ("layers[1].units"),
// or "" when it varies none: the model table shows the experiment's base
// spec, so the page says which of its numbers differ by run.
func sweptLayers(sw *SweepProps) string {
	if sw == nil {
		return ""
	}
	var out []string
	for _, p := range sw.Params {
		if strings.HasPrefix(p, "layers[") {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// anyCreator reports whether some run of a table has a creator: without
// logins (no --auth) none has, and the table leaves out its empty "By" column.
func anyCreator(rs []runs.Run) bool {
	for _, r := range rs {
		if r.CreatedBy != "" {
			return true
		}
	}
	return false
}

// anyListedCreator is anyCreator for the runs table of the home page.
func anyListedCreator(rs []runs.ListedRun) bool {
	for _, r := range rs {
		if r.CreatedBy != "" {
			return true
		}
	}
	return false
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

// whenSeconds writes a time to the second, in UTC.
func whenSeconds(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// versionText writes a build's version, or a dash when unknown.
func versionText(v string) string {
	if v == "" {
		return "–"
	}
	return v
}
