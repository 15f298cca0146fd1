package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/web"
)

// suiteResponse answers a queued suite.
type suiteResponse struct {
	ID          int64   `json:"id"`
	Experiments []int64 `json:"experiments"`
	Runs        []int64 `json:"runs"`
	Source      string  `json:"source"`
}

// captchaSource is the CAPTCHA source of the report's suite: the newest
// dataset imported from a --datasets folder, else the presets' synthetic one.
func (h *handler) captchaSource(ctx context.Context) (*experiments.Source, string, error) {
	ds, err := h.datasets.Datasets(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, d := range ds {
		if d.Source != "" {
			return &experiments.Source{Kind: experiments.SourceDataset, DatasetID: d.ID}, fmt.Sprintf("dataset #%d %s (%d images)", d.ID, d.Name, d.Images), nil
		}
	}
	return nil, "synthetic", nil
}

// queueSeedReport queues every experiment of the seed report, one run each,
// and groups them as one suite, all in one transaction: a failure part-way
// leaves no suite, experiment, run or job behind.
func (h *handler) queueSeedReport(ctx context.Context) (suiteResponse, error) {
	src, srcText, err := h.captchaSource(ctx)
	if err != nil {
		return suiteResponse{}, err
	}
	entries := experiments.SeedReport()
	subs := make([]*trainer.Submission, 0, len(entries))
	for _, e := range entries {
		p, ok := experiments.PresetByName(e.Preset)
		if !ok {
			return suiteResponse{}, fmt.Errorf("seed report: no preset %q", e.Preset)
		}
		spec := e.Spec(p.Spec)
		if spec.Dataset == experiments.DatasetCaptcha && src != nil {
			s := *src
			spec.Source = &s
		}
		exp := &experiments.Experiment{Name: "Report: " + e.Label, Preset: e.Preset, Spec: spec, Repeats: 1, CreatedBy: userName(ctx)}
		subs = append(subs, &trainer.Submission{Experiment: exp, Specs: []experiments.Spec{spec}})
	}
	su := experiments.Suite{Name: "Seed report (" + srcText + ")", Kind: experiments.SeedReportKind, Members: map[string]int64{}}
	err = h.trainer.SubmitMany(ctx, subs, func(tx *gorm.DB) error {
		for i, e := range entries {
			su.Members[e.Key] = subs[i].Experiment.ID
		}
		return h.suites.WithTx(tx).CreateSuite(ctx, &su)
	})
	if err != nil {
		return suiteResponse{}, err
	}
	resp := suiteResponse{ID: su.ID, Source: srcText}
	for _, s := range subs {
		resp.Experiments = append(resp.Experiments, s.Experiment.ID)
		for _, r := range s.Runs {
			resp.Runs = append(resp.Runs, r.ID)
		}
	}
	return resp, nil
}

func (h *handler) apiSeedReport(c echo.Context) error {
	resp, err := h.queueSeedReport(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, resp)
}

func (h *handler) seedReportCreate(c echo.Context) error {
	resp, err := h.queueSeedReport(c.Request().Context())
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/suites/%d", resp.ID))
}

// suiteProps builds the suite page: the report's comparisons with each
// member's newest run.
func (h *handler) suiteProps(ctx context.Context, id int64) (web.SuiteProps, error) {
	su, err := h.suites.Suite(ctx, id)
	if errors.Is(err, experiments.ErrSuiteNotFound) {
		return web.SuiteProps{}, notFound{msg: fmt.Sprintf("suite %d not found", id)}
	}
	if err != nil {
		return web.SuiteProps{}, err
	}
	entries := map[string]experiments.ReportEntry{}
	for _, e := range experiments.SeedReport() {
		entries[e.Key] = e
	}
	runOf := map[string]runs.Run{}
	for key, expID := range su.Members {
		rs, err := h.runs.Runs(ctx, runs.Filter{ExperimentID: expID})
		if err != nil {
			return web.SuiteProps{}, err
		}
		if len(rs) > 0 {
			full, err := h.runs.Run(ctx, rs[0].ID)
			if err != nil {
				return web.SuiteProps{}, err
			}
			runOf[key] = full
		}
	}
	source, _ := strings.CutSuffix(strings.TrimPrefix(su.Name, "Seed report ("), ")")
	p := web.SuiteProps{ID: su.ID, Name: su.Name, CreatedAt: su.CreatedAt, Source: source}
	for _, cmp := range experiments.SeedReportComparisons() {
		wc := web.SuiteComparison{Title: cmp.Title, Note: cmp.Note}
		var ids []string
		for _, k := range cmp.Keys {
			r := runOf[k]
			wc.Rows = append(wc.Rows, web.SuiteRow{Label: entries[k].Label, Report: entries[k].Report, Run: r})
			if r.ID != 0 {
				ids = append(ids, fmt.Sprint(r.ID))
			}
		}
		if len(ids) >= 2 {
			wc.CompareURL = "/compare?runs=" + strings.Join(ids, ",")
		}
		p.Comparisons = append(p.Comparisons, wc)
	}
	return p, nil
}

func (h *handler) suiteShow(c echo.Context) error {
	id, err := idParam(c, "suite")
	if err != nil {
		return err
	}
	p, err := h.suiteProps(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, web.SuitePage(p))
}

func (h *handler) apiSuite(c echo.Context) error {
	id, err := idParam(c, "suite")
	if err != nil {
		return err
	}
	su, err := h.suites.Suite(c.Request().Context(), id)
	if errors.Is(err, experiments.ErrSuiteNotFound) {
		return notFound{msg: fmt.Sprintf("suite %d not found", id)}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, su)
}
