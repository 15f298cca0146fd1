package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
)

// previewResponse says what POST /api/experiments would queue for the same
// body, before anything is queued.
type previewResponse struct {
	// Runs is how many runs it queues: Points sweep points times Repeats.
	Runs    int `json:"runs"`
	Points  int `json:"points"`
	Repeats int `json:"repeats"`
	// Epochs is the epochs of all the runs together (with successive
	// halving, the most they train; stopped runs train fewer).
	Epochs int `json:"epochs"`
	// Seconds is the estimated training time of all the runs one after
	// another, from each point's estimated epoch time on this server (null
	// while the machine's throughput is unknown); Text says it for people.
	Seconds *float64 `json:"seconds"`
	Text    string   `json:"text"`
	// Errors are the field errors POST /api/experiments would answer (422),
	// keyed as there (sweep.params.<name> for a swept setting).
	Errors map[string]string `json:"errors"`
}

// apiExperimentPreview answers POST /api/experiments/preview: the number of
// runs and their estimated total time, or the field errors, of a body that
// POST /api/experiments would take. Nothing is stored.
func (h *handler) apiExperimentPreview(c echo.Context) error {
	req, err := decodeCreateRequest(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	out := previewResponse{Errors: map[string]string{}}
	pl, err := h.plan(ctx, &req)
	var fe fieldErrors
	switch {
	case errors.As(err, &fe):
		out.Errors = fe
		out.Text = "fix the fields marked to see what it queues"
		return c.JSON(http.StatusOK, out)
	case err != nil:
		return err
	}
	out.Points, out.Repeats, out.Runs = len(pl.points), req.Repeats, len(pl.specs)
	total, known := 0.0, true
	for _, p := range pl.points {
		est := h.trainer.Estimate(ctx, p.Spec)
		out.Epochs += p.Spec.Epochs * req.Repeats
		if est.EpochSeconds <= 0 {
			known = false
		}
		total += est.EpochSeconds * float64(p.Spec.Epochs*req.Repeats)
	}
	if known {
		out.Seconds = &total
	}
	out.Text = previewText(out, req.Sweep)
	return c.JSON(http.StatusOK, out)
}

func previewText(p previewResponse, sw *experiments.Sweep) string {
	runs := "1 run"
	if p.Runs != 1 {
		runs = fmt.Sprintf("%d runs", p.Runs)
	}
	if p.Points > 1 || sw != nil {
		runs += fmt.Sprintf(" (%d points × %d seeds)", p.Points, p.Repeats)
	}
	when := "training time unknown until the machine's speed is measured"
	if p.Seconds != nil {
		when = "about " + experiments.FormatSeconds(*p.Seconds) + " of training in all"
		if sw != nil && sw.ASHA != nil {
			when = "at most " + experiments.FormatSeconds(*p.Seconds) + " of training in all (successive halving stops some early)"
		}
	}
	return fmt.Sprintf("Queues %s, %s epochs, %s.", runs, experiments.Thousands(int64(p.Epochs)), when)
}
