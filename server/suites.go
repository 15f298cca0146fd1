package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

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

// reportSources lists the CAPTCHA sources the seed report can train on:
// every imported dataset (uploaded zip or --datasets folder), newest first,
// then the presets' synthetic CAPTCHAs. The first is the default.
func (h *handler) reportSources(ctx context.Context) ([]web.SourceChoice, error) {
	ds, err := h.datasets.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.SourceChoice, 0, len(ds)+1)
	for _, d := range ds {
		from := "uploaded zip"
		if d.Source != "" {
			from = "imported folder"
		}
		out = append(out, web.SourceChoice{Value: fmt.Sprintf("dataset:%d", d.ID),
			Label: fmt.Sprintf("dataset #%d %s (%d images, %s)", d.ID, d.Name, d.Images, from)})
	}
	out = append(out, web.SourceChoice{Value: "synthetic", Label: "synthetic CAPTCHAs drawn by trainyard (the presets' own)"})
	out[0].Selected = true
	return out, nil
}

// reportSource resolves a choice of reportSources ("synthetic",
// "dataset:3", or "" for the default) to the source the CAPTCHA experiments
// train on (nil: the presets' synthetic one) and its label.
func (h *handler) reportSource(ctx context.Context, choice string) (*experiments.Source, string, error) {
	opts, err := h.reportSources(ctx)
	if err != nil {
		return nil, "", err
	}
	if choice == "" {
		choice = opts[0].Value
	}
	for _, o := range opts {
		if o.Value != choice {
			continue
		}
		if o.Value == "synthetic" {
			return nil, "synthetic", nil
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(o.Value, "dataset:"), 10, 64)
		return &experiments.Source{Kind: experiments.SourceDataset, DatasetID: id}, o.Label, nil
	}
	if len(choice) > 40 {
		choice = choice[:40] + "…"
	}
	return nil, "", fieldErrors{"captcha_source": fmt.Sprintf("unknown CAPTCHA source %q: use \"synthetic\" or \"dataset:ID\" of an imported dataset", choice)}
}

// seedReportRequest is the optional body of POST /api/suites/seed-report.
type seedReportRequest struct {
	// CaptchaSource is "synthetic", "dataset:ID" or empty for the default
	// (the newest imported dataset, else synthetic).
	CaptchaSource string `json:"captcha_source"`
}

// queueSeedReport queues every experiment of the seed report, one run each,
// with its CAPTCHA experiments on the chosen source, and groups them as one
// suite, all in one transaction: a failure part-way leaves no suite,
// experiment, run or job behind.
func (h *handler) queueSeedReport(ctx context.Context, choice string) (suiteResponse, error) {
	src, srcText, err := h.reportSource(ctx, choice)
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
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	err = h.trainer.SubmitSuite(ctx, &su, subs, keys)
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
	var req seedReportRequest
	if c.Request().ContentLength != 0 {
		dec := json.NewDecoder(c.Request().Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			return badRequest{msg: "malformed JSON: " + err.Error()}
		}
	}
	resp, err := h.queueSeedReport(c.Request().Context(), req.CaptchaSource)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, resp)
}

func (h *handler) seedReportCreate(c echo.Context) error {
	resp, err := h.queueSeedReport(c.Request().Context(), c.FormValue("captcha_source"))
	var fe fieldErrors
	if errors.As(err, &fe) {
		return badRequest{msg: fe["captcha_source"]}
	}
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
			wc.Rows = append(wc.Rows, web.SuiteRow{Key: k, Label: entries[k].Label, Report: entries[k].Report, Run: r})
			if r.ID == 0 || !r.Status.Done() {
				p.Live = true
			}
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

func (h *handler) suitesPage(c echo.Context) error {
	sus, err := h.suites.Suites(c.Request().Context(), listLimit)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, web.SuitesPage(web.SuitesProps{Suites: sus}))
}

func (h *handler) apiSuites(c echo.Context) error {
	sus, err := h.suites.Suites(c.Request().Context(), listLimit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sus)
}

// requeueMember queues a new run of a suite member whose newest run was
// cancelled or failed, with that run's spec, in the member's experiment; the
// suite page then shows the new run.
func (h *handler) requeueMember(ctx context.Context, suiteID int64, key string) (runs.Run, error) {
	su, err := h.suites.Suite(ctx, suiteID)
	if errors.Is(err, experiments.ErrSuiteNotFound) {
		return runs.Run{}, notFound{msg: fmt.Sprintf("suite %d not found", suiteID)}
	}
	if err != nil {
		return runs.Run{}, err
	}
	expID, ok := su.Members[key]
	if !ok {
		if len(key) > 40 {
			key = key[:40] + "…"
		}
		return runs.Run{}, notFound{msg: fmt.Sprintf("suite %d has no member %q", suiteID, key)}
	}
	e, err := h.exps.Experiment(ctx, expID)
	if err != nil {
		return runs.Run{}, err
	}
	spec := e.Spec
	rs, err := h.runs.Runs(ctx, runs.Filter{ExperimentID: expID, Limit: 1})
	if err != nil {
		return runs.Run{}, err
	}
	if len(rs) > 0 {
		last := rs[0]
		if last.Status != runs.StatusCancelled && last.Status != runs.StatusFailed {
			return runs.Run{}, conflict{msg: fmt.Sprintf("member %s's run #%d is %s: only a cancelled or failed member is queued again", key, last.ID, last.Status)}
		}
		spec = last.Spec
	}
	created, err := h.trainer.Submit(ctx, &e, []experiments.Spec{spec})
	if err != nil {
		return runs.Run{}, err
	}
	return created[0], nil
}

func (h *handler) apiSuiteRequeue(c echo.Context) error {
	id, err := idParam(c, "suite")
	if err != nil {
		return err
	}
	r, err := h.requeueMember(c.Request().Context(), id, c.Param("key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (h *handler) suiteRequeue(c echo.Context) error {
	id, err := idParam(c, "suite")
	if err != nil {
		return err
	}
	if _, err := h.requeueMember(c.Request().Context(), id, c.Param("key")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/suites/%d", id))
}
