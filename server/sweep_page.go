package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

// sweepProps builds the sweep section of an experiment: its runs grouped by
// configuration (seeds averaged), the best configuration by mean test
// accuracy, else by mean best validation accuracy.
func (h *handler) sweepProps(ctx context.Context, e experiments.Experiment) (*web.SweepProps, error) {
	sw := e.Sweep
	params := sw.ParamNames()
	mode := sw.Mode
	if mode == "" {
		mode = "grid"
	}
	p := &web.SweepProps{Mode: mode, Params: params, Best: -1, Seeds: max(e.Repeats, 1)}
	index := map[string]int{}
	type acc struct{ test, val []float64 }
	var accs []acc
	stopped := map[int]int{} // rung -> runs stopped there
	q := runs.ListQuery{ExperimentID: e.ID, Sort: "created", Limit: runs.MaxListLimit}
	for pages := 0; pages < (experiments.MaxSweepPoints+runs.MaxListLimit-1)/runs.MaxListLimit; pages++ {
		page, err := h.runs.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Runs {
			values := make([]float64, len(params))
			key := make([]string, len(params))
			for i, name := range params {
				values[i], _ = experiments.SweepValue(r.Spec, name)
				key[i] = fmt.Sprint(values[i])
			}
			k := strings.Join(key, ",")
			i, ok := index[k]
			if !ok {
				i = len(p.Rows)
				index[k] = i
				p.Rows = append(p.Rows, web.SweepRow{Values: values, BestRun: r.ID})
				accs = append(accs, acc{})
			}
			row := &p.Rows[i]
			row.Runs = append(row.Runs, r.ID)
			row.StopRungs = append(row.StopRungs, r.StopRung)
			if r.Status == runs.StatusStopped {
				stopped[r.StopRung]++
			}
			if r.TestAccuracy != nil {
				row.Done++
				if len(accs[i].test) == 0 || *r.TestAccuracy > maxOf(accs[i].test) {
					row.BestRun = r.ID
				}
				accs[i].test = append(accs[i].test, *r.TestAccuracy)
			}
			if r.BestValAccuracy != nil {
				accs[i].val = append(accs[i].val, *r.BestValAccuracy)
			}
		}
		if page.NextCursor == nil {
			break
		}
		q.Cursor = *page.NextCursor
	}
	if a := sw.ASHA; a != nil {
		most := 0
		for _, row := range p.Rows {
			for i, name := range params {
				if name == "epochs" {
					most = max(most, int(row.Values[i]))
				}
			}
		}
		if most == 0 {
			most = e.Spec.Epochs
		}
		p.ASHA = &web.SweepASHA{Metric: a.Metric, MinEpochs: a.MinEpochs, Eta: a.Eta}
		for _, rung := range a.Rungs(most) {
			p.ASHA.Rungs = append(p.ASHA.Rungs, web.SweepRung{Epoch: rung, Stopped: stopped[rung]})
		}
	}
	bestScore := -1.0
	for i := range p.Rows {
		t, v := runs.Summarize(accs[i].test), runs.Summarize(accs[i].val)
		p.Rows[i].TestAccuracy, p.Rows[i].TestAccuracyStd, p.Rows[i].BestValAccuracy = t.Mean, t.Std, v.Mean
		score := -1.0
		switch {
		case t.Mean != nil:
			score = 1 + *t.Mean // a finished configuration beats one that only validated
		case v.Mean != nil:
			score = *v.Mean
		}
		if score > bestScore && score >= 0 {
			bestScore, p.Best = score, i
		}
	}
	return p, nil
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
