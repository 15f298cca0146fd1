package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

const listLimit = 500

// homeSuites is how many of the newest suites the home page lists.
const homeSuites = 5

// statusFilter reads ?status=, which must be a known status or empty.
func statusFilter(c echo.Context) (runs.Status, error) {
	s := runs.Status(c.QueryParam("status"))
	if s != "" && !s.Valid() {
		return "", &runs.ParamError{Param: "status", Msg: fmt.Sprintf("unknown status %q (%s)", clipMsg(string(s)), runs.StatusNames())}
	}
	return s, nil
}

// home is the runs table (one page, sorted and filtered on the server) and
// the newest experiments. Bad filters answer 400 with the page and the
// message beside the filters.
func (h *handler) home(c echo.Context) error {
	ctx := c.Request().Context()
	code := http.StatusOK
	table := web.RunsBrowserProps{Presets: presetNames()}
	q, err := listQuery(c)
	if err == nil {
		table.Page, err = h.runs.List(ctx, q)
	}
	table.Query = q
	var pe *runs.ParamError
	switch {
	case errors.As(err, &pe):
		code, table.ErrorParam, table.Error = http.StatusBadRequest, pe.Param, pe.Msg
		if pe.Param == "status" {
			table.Query.Status = ""
		}
	case err != nil:
		return err
	}
	exps, err := h.exps.Experiments(ctx, homeExperiments)
	if err != nil {
		return err
	}
	ids := make([]int64, len(exps))
	for i, e := range exps {
		ids[i] = e.ID
	}
	counts, err := h.runs.CountsByExperiment(ctx, ids...)
	if err != nil {
		return err
	}
	items := make([]web.ExperimentItem, len(exps))
	for i, e := range exps {
		items[i] = experimentItem(e, counts[e.ID])
	}
	sources, err := h.reportSources(ctx)
	if err != nil {
		return err
	}
	sus, err := h.suites.Suites(ctx, homeSuites)
	if err != nil {
		return err
	}
	return render(c, code, web.HomePage(web.HomeProps{Experiments: items, Runs: table, ReportSources: sources, Suites: sus}))
}

// homeExperiments is how many of the newest experiments the home page lists.
const homeExperiments = 20

func presetNames() []string {
	var out []string
	for _, p := range experiments.Presets() {
		out = append(out, p.Name)
	}
	return out
}

func experimentItem(e experiments.Experiment, runCount int) web.ExperimentItem {
	return web.ExperimentItem{ID: e.ID, Name: e.Name, Preset: e.Preset, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy, RunCount: runCount}
}

func (h *handler) experimentShow(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := idParam(c, "experiment")
	if err != nil {
		return err
	}
	e, err := h.exps.Experiment(ctx, id)
	if err != nil {
		return err
	}
	rs, err := h.runs.Runs(ctx, runs.Filter{ExperimentID: id})
	if err != nil {
		return err
	}
	props := web.ExperimentProps{Experiment: experimentItem(e, len(rs)), Spec: e.Spec, Runs: rs, Note: e.Note}
	if props.Tags, err = h.exps.Tags(ctx, id); err != nil {
		return err
	}
	if e.Sweep != nil {
		if props.Sweep, err = h.sweepProps(ctx, e); err != nil {
			return err
		}
	} else if len(rs) >= 2 {
		// The runs of a plain experiment differ only by seed: one group.
		groups, err := runs.GroupBy(rs, nil)
		if err != nil {
			return err
		}
		props.Seeds = &groups[0]
	}
	return render(c, http.StatusOK, web.ExperimentPage(props))
}

func (h *handler) runShow(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := h.runs.Run(ctx, id)
	if err != nil {
		return err
	}
	if err := h.explainWaiting(ctx, &r); err != nil {
		return err
	}
	p := web.RunProps{Run: r}
	if r.Status == runs.StatusSucceeded && r.Spec.Dataset == experiments.DatasetCaptcha {
		if p.Datasets, err = h.datasets.Datasets(ctx); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, web.RunPage(p))
}

func (h *handler) runCancel(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	if _, err := h.trainer.Cancel(c.Request().Context(), id); err != nil && !errors.Is(err, runs.ErrFinished) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/runs/%d", id))
}

func (h *handler) compareShow(c echo.Context) error {
	ids, err := runIDs(c.QueryParam("runs"))
	if err != nil {
		return err
	}
	target, err := targetParam(c.QueryParam("target"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	props := web.CompareProps{}
	if props.Runs, props.Missing, err = h.runs.RunsWithEpochsFound(ctx, ids); err != nil {
		return err
	}
	props.Comparison = runs.Compare(props.Runs)
	props.Comparison.SetTarget(target)
	if len(props.Runs) == 0 {
		return notFound{msg: fmt.Sprintf("none of the runs %v exist", ids)}
	}
	if props.GroupBy, err = groupByParam(strings.Join(c.QueryParams()["group_by"], ",")); err != nil {
		return err
	}
	if props.Groups, err = runs.GroupBy(props.Runs, props.GroupBy); err != nil {
		return err
	}
	return render(c, http.StatusOK, web.ComparePage(props))
}
