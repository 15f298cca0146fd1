package server

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// listQuery reads the runs table's parameters: status, preset, dataset, tag,
// experiment_id, search, q, sort, limit and cursor.
func listQuery(c echo.Context) (runs.ListQuery, error) {
	status, err := statusFilter(c)
	if err != nil {
		return runs.ListQuery{}, err
	}
	q := runs.ListQuery{Status: status, Preset: c.QueryParam("preset"), Dataset: c.QueryParam("dataset"),
		Tag: c.QueryParam("tag"), Search: c.QueryParam("search"), Q: c.QueryParam("q"), Sort: c.QueryParam("sort"),
		Cursor: c.QueryParam("cursor")}
	for name, v := range map[string]string{"preset": q.Preset, "dataset": q.Dataset, "tag": q.Tag, "search": q.Search} {
		if len(v) > 200 {
			return q, &runs.ParamError{Param: name, Msg: "at most 200 characters"}
		}
	}
	if s := c.QueryParam("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
			return q, &runs.ParamError{Param: "limit", Msg: fmt.Sprintf("must be a whole number between 1 and %d", runs.MaxListLimit)}
		}
	}
	if s := c.QueryParam("experiment_id"); s != "" {
		if q.ExperimentID, err = strconv.ParseInt(s, 10, 64); err != nil || q.ExperimentID < 1 {
			return q, &runs.ParamError{Param: "experiment_id", Msg: "must be an experiment id"}
		}
	}
	return q, nil
}

// apiRuns is GET /api/runs: one page of the runs table.
func (h *handler) apiRuns(c echo.Context) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	page, err := h.runs.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// maxCSVRows bounds one CSV export.
const maxCSVRows = 200_000

// apiRunsCSV is GET /api/runs.csv: every run the filters match (not just a
// page), one row each with its settings and summary metrics.
func (h *handler) apiRunsCSV(c echo.Context) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	q.Limit, q.Cursor = runs.MaxListLimit, ""
	ctx := c.Request().Context()
	first, err := h.runs.List(ctx, q)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="runs.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "experiment", "preset", "status", "stop_rung", "dataset", "optimizer", "epochs", "batch_size",
		"learning_rate", "seed", "train_limit", "params", "test_accuracy", "best_val_accuracy",
		"test_char_accuracy", "best_val_char_accuracy", "train_seconds", "created_at", "tags", "note"})
	page, rows := first, 0
	for {
		for _, r := range page.Runs {
			cw.Write([]string{strconv.FormatInt(r.ID, 10), csvText(r.Experiment), r.Preset, string(r.Status), strconv.Itoa(r.StopRung), r.Spec.Dataset,
				r.Spec.Optimizer, strconv.Itoa(r.Spec.Epochs), strconv.Itoa(r.Spec.BatchSize), num(r.Spec.LearningRate),
				strconv.FormatInt(r.Spec.Seed, 10), strconv.Itoa(r.Spec.TrainLimit), strconv.Itoa(r.Params),
				optNum(r.TestAccuracy), optNum(r.BestValAccuracy), optNum(testCharAccuracy(r.Run)), optNum(bestValCharAccuracy(r.Run)),
				num(r.TrainSeconds),
				r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), strings.Join(r.Tags, " "), csvText(r.Note)})
			rows++
		}
		if page.NextCursor == nil || rows >= maxCSVRows || ctx.Err() != nil {
			break
		}
		q.Cursor = *page.NextCursor
		if page, err = h.runs.List(ctx, q); err != nil {
			h.log.Warn("runs csv", "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}

// apiRunEpochsCSV is GET /api/runs/:id/epochs.csv: every epoch at full precision.
func (h *handler) apiRunEpochsCSV(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	eps, err := h.runs.Epochs(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if len(eps) == 0 {
		if _, err := h.runs.Run(c.Request().Context(), id); err != nil {
			return err
		}
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="run-%d-epochs.csv"`, id))
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	// accuracy and val_accuracy are image accuracies (every head right);
	// the char columns are set for multi-head models; unknown values are empty.
	cw.Write([]string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "char_accuracy", "val_char_accuracy", "learning_rate", "seconds"})
	for _, e := range eps {
		cw.Write([]string{strconv.Itoa(e.Epoch), num(e.Loss), optNum(e.Accuracy), optNum(e.ValLoss), optNum(e.ValAccuracy),
			optNum(e.CharAccuracy), optNum(e.ValCharAccuracy), num(e.LearningRate), num(e.Seconds)})
	}
	cw.Flush()
	return nil
}

// testCharAccuracy is a multi-head run's test character accuracy (nil otherwise).
func testCharAccuracy(r runs.Run) *float64 {
	if r.Test == nil {
		return nil
	}
	return r.Test.CharAccuracy
}

// bestValCharAccuracy is a multi-head run's validation character accuracy at
// its best validation epoch (nil otherwise).
func bestValCharAccuracy(r runs.Run) *float64 {
	if v, ok := r.BestValCharAccuracy(); ok {
		return &v
	}
	return nil
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func optNum(f *float64) string {
	if f == nil {
		return ""
	}
	return num(*f)
}

// csvText keeps a spreadsheet from reading a user's text as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// tagsNote is the body of PATCH /api/runs/:id and /api/experiments/:id; a
// missing field is left as it is.
type tagsNote struct {
	Tags *[]string `json:"tags"`
	Note *string   `json:"note"`
}

func (h *handler) readTagsNote(c echo.Context) (tags []string, note *string, err error) {
	var body tagsNote
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, nil, badRequest{msg: "the body must be JSON like {\"tags\": [\"baseline\"], \"note\": \"...\"}: " + clipMsg(err.Error())}
	}
	fields := fieldErrors{}
	if body.Tags != nil {
		if tags, err = experiments.NormalizeTags(*body.Tags); err != nil {
			fields["tags"] = err.Error()
		}
	}
	if body.Note != nil {
		if err := experiments.CheckNote(*body.Note); err != nil {
			fields["note"] = err.Error()
		}
	}
	if len(fields) > 0 {
		return nil, nil, fields
	}
	return tags, body.Note, nil
}

func clipMsg(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// apiRunPatch is PATCH /api/runs/:id {"tags": [...], "note": "..."}.
func (h *handler) apiRunPatch(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	tags, note, err := h.readTagsNote(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.runs.SetTagsNote(ctx, id, tags, note); err != nil {
		return err
	}
	page, err := h.runs.List(ctx, runs.ListQuery{Q: "id = " + strconv.FormatInt(id, 10), Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Runs) == 0 {
		return runs.ErrNotFound
	}
	return c.JSON(http.StatusOK, page.Runs[0])
}

// apiExperimentPatch is PATCH /api/experiments/:id {"tags": [...], "note": "..."}.
func (h *handler) apiExperimentPatch(c echo.Context) error {
	id, err := idParam(c, "experiment")
	if err != nil {
		return err
	}
	tags, note, err := h.readTagsNote(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.exps.SetTagsNote(ctx, id, tags, note); err != nil {
		return err
	}
	e, err := h.exps.Experiment(ctx, id)
	if err != nil {
		return err
	}
	all, err := h.exps.Tags(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": e.ID, "name": e.Name, "tags": all, "note": e.Note})
}

// apiRunDelete is DELETE /api/runs/:id: 204, or 409 while it is queued or running.
func (h *handler) apiRunDelete(c echo.Context) error {
	r, err := h.routeRun(c)
	if err != nil {
		return err
	}
	if err := h.trainer.DeleteRun(c.Request().Context(), r); err != nil {
		if errors.Is(err, runs.ErrActive) {
			return conflict{msg: fmt.Sprintf("run %d is queued or running: cancel it first, then delete it", r.ID)}
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiExperimentDelete is DELETE /api/experiments/:id with all its runs.
func (h *handler) apiExperimentDelete(c echo.Context) error {
	id, err := idParam(c, "experiment")
	if err != nil {
		return err
	}
	if err := h.trainer.DeleteExperiment(c.Request().Context(), id); err != nil {
		if errors.Is(err, runs.ErrActive) {
			return conflict{msg: fmt.Sprintf("experiment %d has a queued or running run: cancel it first, then delete the experiment", id)}
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
