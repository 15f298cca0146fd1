package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
)

// experimentJSON is an experiment with its model summary and run ids.
type experimentJSON struct {
	experiments.Experiment
	Summary experiments.Summary `json:"summary"`
	Runs    []int64             `json:"runs"`
}

func (h *handler) apiPresets(c echo.Context) error {
	return c.JSON(http.StatusOK, experiments.Presets())
}

func (h *handler) apiExperiments(c echo.Context) error {
	exps, err := h.exps.Experiments(c.Request().Context(), listLimit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, exps)
}

func (h *handler) apiExperiment(c echo.Context) error {
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
	out := experimentJSON{Experiment: e, Summary: e.Spec.Summarize(), Runs: make([]int64, 0, len(rs))}
	for i := len(rs) - 1; i >= 0; i-- {
		out.Runs = append(out.Runs, rs[i].ID)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handler) apiRun(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	r, err := h.runs.Run(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := h.explainWaiting(c.Request().Context(), &r); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *handler) apiRunCancel(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	r, err := h.trainer.Cancel(c.Request().Context(), id)
	if errors.Is(err, runs.ErrFinished) {
		cur, _ := h.runs.Run(c.Request().Context(), id)
		return conflict{msg: fmt.Sprintf("run %d already finished: it is %s", id, cur.Status)}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *handler) apiRunWeights(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	r, err := h.runs.Run(c.Request().Context(), id)
	if err != nil {
		return err
	}
	rd, err := h.trainer.OpenWeights(c.Request().Context(), r)
	if errors.Is(err, trainer.ErrNoWeights) {
		return notFound{msg: err.Error()}
	}
	if err != nil {
		return err
	}
	defer rd.Close()
	name := fmt.Sprintf("trainyard-run-%d-%s.safetensors", r.ID, safeName(r.Preset))
	artifacts.Serve(c.Response(), c.Request(), rd, name)
	return nil
}

// safeName keeps letters, digits and dashes of s for a file name.
func safeName(s string) string {
	b := []byte{}
	for _, ch := range []byte(s) {
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' {
			b = append(b, ch)
		}
	}
	if len(b) == 0 {
		return "model"
	}
	return string(b)
}

func (h *handler) apiCompare(c echo.Context) error {
	ids, err := runIDs(c.QueryParam("runs"))
	if err != nil {
		return err
	}
	by, err := groupByParam(strings.Join(c.QueryParams()["group_by"], ","))
	if err != nil {
		return err
	}
	target, err := targetParam(c.QueryParam("target"))
	if err != nil {
		return err
	}
	rs, err := h.runs.RunsWithEpochs(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	// Without group_by, runs that differ only by seed form the groups.
	groups, err := runs.GroupBy(rs, by)
	if err != nil {
		return err
	}
	cmp := runs.Compare(rs)
	cmp.SetTarget(target)
	return c.JSON(http.StatusOK, compareResponse{Comparison: cmp, Groups: groups})
}

// compareResponse is GET /api/compare: the comparison and its groups.
type compareResponse struct {
	runs.Comparison
	Groups []runs.Group `json:"groups"`
}

// groupByParam reads a comma-separated list of settings to group by
// ("epochs,learning_rate"); each must be one of runs.GroupKeys.
func groupByParam(s string) ([]string, error) {
	var by []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" || slices.Contains(by, part) {
			continue
		}
		if !slices.Contains(runs.GroupKeys(), part) {
			return nil, badRequest{msg: "group_by: " + (&runs.UnknownGroupKeyError{Key: part}).Error()}
		}
		by = append(by, part)
	}
	return by, nil
}
