package web

import (
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// palette is the colour of each run on the compare page, in order; CSS
// classes c0..c7 use the same colours.
func palette() []string {
	return []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"}
}

// dashes are the line styles (uPlot dash arrays) that, crossed with the
// palette, tell up to 32 runs apart: runs 0-7 solid, 8-15 dashed, 16-23
// dotted, 24-31 dash-dot, then again.
func dashes() [][]int { return [][]int{{}, {8, 4}, {2, 3}, {10, 3, 2, 3}} }

// dashOf is the i-th run's line style.
func dashOf(i int) []int {
	d := dashes()
	return d[(i/len(palette()))%len(d)]
}

// colourClass is the CSS classes of the i-th run's colour and line style
// ("c3 d1": the fourth colour, dashed), for swatches beside its name.
func colourClass(i int) string {
	return "c" + itoa(i%len(palette())) + " d" + itoa((i/len(palette()))%len(dashes()))
}

// chartSeries is one run's curves, handed to the page's script as JSON.
type chartSeries struct {
	ID     int64        `json:"id"`
	Label  string       `json:"label"`
	Colour string       `json:"colour"`
	Dash   []int        `json:"dash"`
	Heads  int          `json:"heads"`
	Epochs []runs.Epoch `json:"epochs"`
}

// runPageData is what run.js needs: where to listen and what to draw first.
type runPageData struct {
	ID        int64        `json:"id"`
	Status    runs.Status  `json:"status"`
	EventsURL string       `json:"events_url"`
	Epochs    []runs.Epoch `json:"epochs"`
	Progress  *Progress    `json:"progress"`
	Heads     int          `json:"heads"`
}

func newRunPageData(p RunProps) runPageData {
	eps := p.Run.Epochs
	if eps == nil {
		eps = []runs.Epoch{}
	}
	return runPageData{
		ID:        p.Run.ID,
		Status:    p.Run.Status,
		EventsURL: "/api/runs/" + itoa(p.Run.ID) + "/events",
		Epochs:    eps,
		Progress:  p.Progress,
		Heads:     p.Run.Spec.Heads,
	}
}

// compareSeries is the compare page's chart data, one entry per run.
func compareSeries(rs []runs.Run) []chartSeries {
	out := make([]chartSeries, len(rs))
	pal := palette()
	for i, r := range rs {
		eps := r.Epochs
		if eps == nil {
			eps = []runs.Epoch{}
		}
		out[i] = chartSeries{ID: r.ID, Label: runLabel(r), Colour: pal[i%len(pal)], Dash: dashOf(i), Heads: r.Spec.Heads, Epochs: eps}
	}
	return out
}

// runLabel names a run in legends: "#12 mnist-cnn1 (seed 3)".
func runLabel(r runs.Run) string {
	name := r.Experiment
	if name == "" {
		name = r.Preset
	}
	return "#" + itoa(r.ID) + " " + name + " (seed " + itoa(r.Spec.Seed) + ")"
}

// paramRow is one row of the compare page's parameter table.
type paramRow struct {
	runs.ParamRow
}

// cellDiffers reports whether value i differs from the first run's value, so
// the page can highlight exactly the cells that stand out.
func (r paramRow) cellDiffers(i int) bool {
	return r.Differs && r.Values[i] != r.Values[0]
}

// paramRows lays the runs' settings and layers side by side.
func paramRows(c runs.Comparison) []paramRow {
	rows := make([]paramRow, len(c.Params))
	for i, p := range c.Params {
		rows[i] = paramRow{p}
	}
	return rows
}

// summaryRow is one run's line in the compare page's summary table.
type summaryRow struct {
	Run          runs.Run
	Colour       string
	TestAccuracy string
	BestVal      string
	// TestChar and BestValChar are the character accuracies of multi-head runs.
	TestChar    string
	BestValChar string
	EpochsRun   int
	Total       string
	PerEpoch    string
	MsPerImage  string
	Params      string
	// TimeToTarget is the training time until the validation accuracy first
	// reached the comparison's target ("–" when it never did).
	TimeToTarget string
}

// summaryRows formats the comparison's summary for the compare page.
func summaryRows(c runs.Comparison) []summaryRow {
	out := make([]summaryRow, len(c.Runs))
	for i, r := range c.Runs {
		sum := c.Summary[i]
		row := summaryRow{
			Run:          r,
			Colour:       colourClass(i),
			TestAccuracy: testAccuracy(r),
			BestVal:      "–",
			EpochsRun:    sum.EpochsRun,
			Total:        seconds(sum.TotalSeconds),
			PerEpoch:     seconds(sum.SecondsPerEpoch),
			MsPerImage:   "–",
			Params:       thousands(sum.Params),
		}
		if sum.BestValAccuracy != nil {
			row.BestVal = pct(*sum.BestValAccuracy) + " (epoch " + itoa(sum.BestEpoch) + ")"
		}
		row.TestChar, row.BestValChar = pctp(sum.TestCharAccuracy), pctp(sum.BestValCharAccuracy)
		row.TimeToTarget = "–"
		if sum.TimeToTarget != nil {
			row.TimeToTarget = seconds(*sum.TimeToTarget) + " (epoch " + itoa(*sum.TargetEpoch) + ")"
		}
		if sum.MsPerImage != nil && *sum.MsPerImage > 0 {
			row.MsPerImage = fixed(*sum.MsPerImage, 3)
		}
		out[i] = row
	}
	return out
}

// anyMultiHead reports whether any of the runs has several heads, so tables
// add character-accuracy columns.
func anyMultiHead(rs []runs.Run) bool {
	for _, r := range rs {
		if isMultiHead(r) {
			return true
		}
	}
	return false
}

// summaryOf is the Keras-style summary of a spec.
func summaryOf(s experiments.Spec) experiments.Summary { return s.Summarize() }

// targetPercent is the comparison's target as the page's input shows it ("90").
func targetPercent(c runs.Comparison) string { return num(c.Target * 100) }
