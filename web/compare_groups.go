package web

import (
	"slices"
	"strings"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/runs"
)

// groupedCompare is whether the compare page has groups worth a table: a
// grouping was asked for, or some runs differ only by seed.
func groupedCompare(p CompareProps) bool {
	if len(p.GroupBy) > 0 {
		return len(p.Groups) > 0
	}
	for _, g := range p.Groups {
		if len(g.Runs) > 1 {
			return true
		}
	}
	return false
}

// groupChoices are the settings the compare page offers to group by.
func groupChoices() []string {
	return slices.DeleteFunc(runs.GroupKeys(), func(k string) bool {
		return k == "seed" || k == "source" || k == "early_stopping" || k == "reduce_lr" || k == "heads"
	})
}

func groupBySet(p CompareProps, key string) bool { return slices.Contains(p.GroupBy, key) }

func compareRunsParam(p CompareProps) string {
	ids := make([]string, len(p.Runs))
	for i, r := range p.Runs {
		ids[i] = itoa(r.ID)
	}
	return strings.Join(ids, ",")
}

// meanStd writes a statistic as "97.12% ± 0.31" (percent) or "42.1 s ± 3.0 s".
func meanStd(s runs.Stat, percent bool) string {
	if s.Mean == nil {
		return "–"
	}
	f := func(v float64) string {
		if percent {
			return pct(v)
		}
		return seconds(v)
	}
	out := f(*s.Mean)
	if s.Std != nil {
		if percent {
			out += " ± " + fixed(*s.Std*100, 2)
		} else {
			out += " ± " + seconds(*s.Std)
		}
	}
	return out
}

func minMax(s runs.Stat) string {
	if s.Min == nil {
		return "–"
	}
	return pct(*s.Min) + " – " + pct(*s.Max)
}

// groupColourIndex is the colour a group is drawn in: that of its first run
// in the page's order, so a colour names the same runs in the page's legend,
// its charts and its groups (each run is in one group, so no two groups
// share a colour when no two runs do).
func groupColourIndex(p CompareProps, g runs.Group) int {
	for i, r := range p.Runs {
		if slices.Contains(g.Runs, r.ID) {
			return i
		}
	}
	return 0
}

// groupChart is what compare-groups.js draws: each group's validation
// accuracy as mean ± std, and its runs' own curves for the toggle.
type groupChart struct {
	Label  string     `json:"label"`
	Colour string     `json:"colour"`
	Band   runs.Band  `json:"band"`
	Runs   []runCurve `json:"runs"`
}

type runCurve struct {
	Label  string    `json:"label"`
	Epochs []int     `json:"epochs"`
	Values []float64 `json:"values"`
}

func groupCharts(p CompareProps) []groupChart {
	byID := make(map[int64]runs.Run, len(p.Runs))
	for _, r := range p.Runs {
		byID[r.ID] = r
	}
	out := make([]groupChart, len(p.Groups))
	for i, g := range p.Groups {
		out[i] = groupChart{Label: g.Label, Colour: palette()[groupColourIndex(p, g)%len(palette())], Band: g.Bands["val_accuracy"]}
		for _, id := range g.Runs {
			r := byID[id]
			c := runCurve{Label: runLabel(r), Epochs: []int{}, Values: []float64{}}
			for _, e := range r.Epochs {
				if e.ValAccuracy == nil {
					continue // no validation set, or recorded before image accuracy was
				}
				c.Epochs = append(c.Epochs, e.Epoch)
				c.Values = append(c.Values, *e.ValAccuracy)
			}
			out[i].Runs = append(out[i].Runs, c)
		}
	}
	return out
}

func groupRunsURL(ids []int64) templ.SafeURL {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = itoa(id)
	}
	return templ.SafeURL("/compare?runs=" + strings.Join(s, ","))
}

func minMaxSeconds(s runs.Stat) string {
	if s.Min == nil {
		return "–"
	}
	return seconds(*s.Min) + " – " + seconds(*s.Max)
}
