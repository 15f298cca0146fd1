package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

// createRequest is the body of POST /api/experiments: a preset with
// overrides, or a full spec, and how many seeds to queue.
type createRequest struct {
	Name      string            `json:"name"`
	Preset    string            `json:"preset"`
	Overrides json.RawMessage   `json:"overrides"`
	Spec      *experiments.Spec `json:"spec"`
	Repeats   int               `json:"repeats"`
	// Sweep varies settings of the spec: one run per point and repeat.
	Sweep *experiments.Sweep `json:"sweep"`
}

// createResponse answers a created experiment.
type createResponse struct {
	ID   int64   `json:"id"`
	Runs []int64 `json:"runs"`
}

// resolve turns the request into a validated spec, or every field error at once.
func (r createRequest) resolve() (experiments.Spec, error) {
	errs := fieldErrors{}
	var spec experiments.Spec
	switch {
	case r.Spec != nil:
		spec = r.Spec.Clone()
	case r.Preset != "":
		p, ok := experiments.PresetByName(r.Preset)
		if !ok {
			errs["preset"] = fmt.Sprintf("unknown preset %q (one of %s)", r.Preset, strings.Join(experiments.PresetNames(), ", "))
			return spec, errs
		}
		spec = p.Spec
	default:
		errs["preset"] = "give a preset or a full spec"
		return spec, errs
	}
	if len(r.Overrides) > 0 && string(r.Overrides) != "null" {
		dec := json.NewDecoder(bytes.NewReader(r.Overrides))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			errs["overrides"] = "overrides must be spec fields: " + err.Error()
		}
	}
	if msg := experiments.CheckName(r.Name); msg != "" {
		errs["name"] = msg
	}
	if r.Repeats < 1 || r.Repeats > experiments.MaxRepeats {
		errs["repeats"] = fmt.Sprintf("repeats must be 1..%d", experiments.MaxRepeats)
	}
	var ve *experiments.ValidationError
	if err := spec.Validate(); errors.As(err, &ve) {
		for k, v := range ve.Fields {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		return spec, errs
	}
	return spec, nil
}

// plan is what a request would queue: its base spec, its sweep's points
// (one point, the spec, without a sweep) and one spec per point and repeat
// (seeds seed..seed+repeats-1), each admitted under this server's limits.
type plan struct {
	spec   experiments.Spec
	points []experiments.SweepPoint
	specs  []experiments.Spec
}

// plan validates the request and expands it into the runs it would queue,
// or returns every field error it finds (422).
func (h *handler) plan(ctx context.Context, req *createRequest) (plan, error) {
	if req.Repeats == 0 {
		req.Repeats = 1
	}
	spec, err := req.resolve()
	if err != nil {
		return plan{}, err
	}
	if _, err := h.trainer.Admit(ctx, spec); err != nil && req.Sweep == nil {
		return plan{}, asFieldErrors(err)
	}
	points := []experiments.SweepPoint{{Spec: spec}}
	if req.Sweep != nil {
		if points, err = req.Sweep.Expand(spec); err != nil {
			return plan{}, asFieldErrors(err)
		}
		if n := len(points) * req.Repeats; n > experiments.MaxSweepPoints {
			return plan{}, fieldErrors{"sweep": fmt.Sprintf("%d points x %d repeats is %d runs; a sweep queues at most %d", len(points), req.Repeats, n, experiments.MaxSweepPoints)}
		}
		for _, p := range points {
			if _, err := h.trainer.Admit(ctx, p.Spec); err != nil {
				return plan{}, pointErrors(err, p)
			}
		}
	}
	specs := make([]experiments.Spec, 0, len(points)*req.Repeats)
	for _, p := range points {
		for i := range req.Repeats {
			s := p.Spec.Clone()
			s.Seed = spec.Seed + int64(i)
			specs = append(specs, s)
		}
	}
	return plan{spec: spec, points: points, specs: specs}, nil
}

// create validates the request and queues one run per point and repeat.
func (h *handler) create(ctx context.Context, req createRequest) (createResponse, error) {
	pl, err := h.plan(ctx, &req)
	if err != nil {
		return createResponse{}, err
	}
	spec, specs := pl.spec, pl.specs
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = req.Preset
		if name == "" {
			name = "custom model"
		}
	}
	e := experiments.Experiment{Name: name, Preset: req.Preset, Spec: spec, Repeats: req.Repeats, Sweep: req.Sweep, CreatedBy: userName(ctx)}
	created, err := h.trainer.Submit(ctx, &e, specs)
	if err != nil {
		return createResponse{}, err
	}
	resp := createResponse{ID: e.ID, Runs: make([]int64, len(created))}
	for i, r := range created {
		resp.Runs[i] = r.ID
	}
	return resp, nil
}

// decodeCreateRequest reads the JSON body of POST /api/experiments and its
// preview: unknown fields are refused, an oversized body is a 413.
func decodeCreateRequest(c echo.Context) (createRequest, error) {
	var req createRequest
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return req, badRequest{msg: "malformed JSON: " + err.Error()}
	}
	return req, nil
}

func (h *handler) apiExperimentCreate(c echo.Context) error {
	req, err := decodeCreateRequest(c)
	if err != nil {
		return err
	}
	resp, err := h.create(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, resp)
}

// experimentCreate handles the form: it posts name, preset, repeats and the
// whole spec as JSON in spec_json; errors re-render the form with what was typed.
func (h *handler) experimentCreate(c echo.Context) error {
	req := createRequest{Name: c.FormValue("name"), Preset: c.FormValue("preset")}
	props := web.NewExperimentProps{Name: req.Name, Preset: req.Preset, Presets: experiments.Presets(), CaptchaEnabled: true}
	errs := fieldErrors{}
	if _, err := fmt.Sscan(c.FormValue("repeats"), &req.Repeats); err != nil {
		errs["repeats"] = fmt.Sprintf("repeats must be a whole number 1..%d", experiments.MaxRepeats)
	}
	var spec experiments.Spec
	if err := json.Unmarshal([]byte(c.FormValue("spec_json")), &spec); err != nil {
		errs["spec"] = "the form's model could not be read: " + err.Error()
	} else {
		req.Spec = &spec
		props.Spec = spec
	}
	// sweep_json holds the sweep the form's lists and ranges make, if any.
	if sj := strings.TrimSpace(c.FormValue("sweep_json")); sj != "" && sj != "null" {
		var sw experiments.Sweep
		dec := json.NewDecoder(strings.NewReader(sj))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sw); err != nil {
			errs["sweep"] = "the form's sweep could not be read: " + err.Error()
		} else {
			req.Sweep, props.Sweep = &sw, &sw
		}
	}
	props.Repeats = req.Repeats
	if len(errs) == 0 {
		resp, err := h.create(c.Request().Context(), req)
		var fe fieldErrors
		if !errors.As(err, &fe) {
			if err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/experiments/%d", resp.ID))
		}
		errs = fe
	}
	props.Errors = errs
	props.Estimate = h.trainer.Estimate(c.Request().Context(), spec).Text()
	return render(c, http.StatusUnprocessableEntity, web.NewExperimentPage(props))
}

func (h *handler) experimentNew(c echo.Context) error {
	props := web.NewExperimentProps{Preset: c.QueryParam("preset"), Presets: experiments.Presets(), Repeats: 1, CaptchaEnabled: true}
	if props.Preset == "" {
		props.Preset = "mnist-nn1"
	}
	// "Re-run with changes": the form starts from a stored run's spec.
	if from := c.QueryParam("from_run"); from != "" {
		id, err := strconv.ParseInt(from, 10, 64)
		if err != nil || id < 1 {
			return &runs.ParamError{Param: "from_run", Msg: fmt.Sprintf("%q is not a run id", clipMsg(from))}
		}
		r, err := h.runs.Run(c.Request().Context(), id)
		if err != nil {
			return err
		}
		props.Spec, props.Preset = r.Spec, r.Preset
		props.Name = clipName(r.Experiment + " (re-run of #" + from + ")")
		props.Estimate = h.trainer.Estimate(c.Request().Context(), r.Spec).Text()
	} else if p, ok := experiments.PresetByName(props.Preset); ok {
		props.Estimate = h.trainer.Estimate(c.Request().Context(), p.Spec).Text()
	}
	return render(c, http.StatusOK, web.NewExperimentPage(props))
}

// summaryResponse is the form's live summary of a spec.
type summaryResponse struct {
	Summary experiments.Summary `json:"summary"`
	// Estimate is what training the spec costs on this server, and
	// EstimateText the same in one line for people.
	Estimate     experiments.Estimate `json:"estimate"`
	EstimateText string               `json:"estimate_text"`
	// Limits are the caps this server admits runs under.
	Limits limitsJSON `json:"limits"`
	// Errors are the spec's field errors, the server's limits included.
	Errors map[string]string `json:"errors"`
}

// limitsJSON is experiments.Limits as the API shows it.
type limitsJSON struct {
	MaxRunMemoryBytes int64 `json:"max_run_memory_bytes"`
	MaxParams         int64 `json:"max_params"`
}

// apiSummary answers the form's live summary: the Keras-style table of the
// posted spec, its cost estimate on this server, and its field errors,
// including the limits it exceeds.
func (h *handler) apiSummary(c echo.Context) error {
	var spec experiments.Spec
	if err := json.NewDecoder(c.Request().Body).Decode(&spec); err != nil {
		return badRequest{msg: "malformed JSON: " + err.Error()}
	}
	errs := map[string]string{}
	var ve *experiments.ValidationError
	est := h.trainer.Estimate(c.Request().Context(), spec)
	lim := h.trainer.Limits()
	if err := spec.Validate(); errors.As(err, &ve) {
		errs = ve.Fields
	} else if err := est.Admit(lim); errors.As(err, &ve) {
		errs = ve.Fields
	}
	return c.JSON(http.StatusOK, summaryResponse{
		Summary: spec.Summarize(), Estimate: est, EstimateText: est.Text(), Errors: errs,
		Limits: limitsJSON{MaxRunMemoryBytes: lim.MaxMemoryBytes, MaxParams: lim.MaxParams},
	})
}

// pointErrors names, for a sweep point over this server's limits, the swept
// setting that drives it (sweep.params.<name>) and the point's values.
func pointErrors(err error, p experiments.SweepPoint) error {
	var ve *experiments.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	names := make([]string, 0, len(p.Values))
	for k := range p.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	at := make([]string, len(names))
	for i, k := range names {
		at[i] = fmt.Sprintf("%s=%g", k, p.Values[k])
	}
	out := fieldErrors{}
	for f, msg := range ve.Fields {
		if _, swept := p.Values[f]; swept {
			f = "sweep.params." + f
		}
		out[f] = msg + " (at " + strings.Join(at, ", ") + ")"
	}
	return out
}

// clipName keeps a derived experiment name within the name limit.
func clipName(s string) string {
	if r := []rune(s); len(r) > experiments.MaxNameLen {
		return string(r[:experiments.MaxNameLen])
	}
	return s
}

// asFieldErrors turns a spec's validation error into the request's field
// errors (422); other errors pass through.
func asFieldErrors(err error) error {
	var ve *experiments.ValidationError
	if errors.As(err, &ve) {
		return fieldErrors(ve.Fields)
	}
	return err
}
