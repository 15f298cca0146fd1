package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/web"
)

// workersList is the answer of GET /api/workers.
type workersList struct {
	Workers []runs.Worker `json:"workers"`
}

func (h *handler) workersPage(c echo.Context) error {
	ws, err := h.workers.Workers(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, web.WorkersPage(web.WorkersProps{Workers: ws}))
}

func (h *handler) apiWorkers(c echo.Context) error {
	ws, err := h.workers.Workers(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, workersList{Workers: ws})
}

// explainWaiting says on a queued run why it does not start when no live
// worker offers the kind of device it asks for.
func (h *handler) explainWaiting(ctx context.Context, r *runs.Run) error {
	if r.Status != runs.StatusQueued {
		return nil
	}
	ws, err := h.workers.Workers(ctx)
	if err != nil {
		return err
	}
	if msg := runs.Waiting(ws, r.Spec.DeviceKindOf()); msg != "" {
		r.Waiting = &msg
	}
	return nil
}
