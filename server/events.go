package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
)

// apiRunEvents streams a run's progress, epochs and status as server-sent
// events until the run ends, the client leaves or the server shuts down.
func (h *handler) apiRunEvents(c echo.Context) error {
	id, err := idParam(c, "run")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	events, unsubscribe := h.broker.Subscribe(id)
	defer unsubscribe()
	// Subscribe first, then read the state, so nothing falls between the two.
	r, err := h.runs.Run(ctx, id)
	if err != nil {
		return err
	}
	w := c.Response()
	streamForever(w)
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(kind string, data any) error {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, b); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	status := runs.StatusChange{Status: r.Status, Error: r.Error}
	if r.Worker != nil {
		status.Worker = *r.Worker
	}
	if err := send(runs.EventStatus, status); err != nil || r.Status.Done() {
		return nil
	}
	// The epochs recorded so far, so a page rendered before them (or a
	// stream that reconnects) misses none; pages keep one row per epoch.
	replayed := 0
	for _, e := range r.Epochs {
		if err := send(runs.EventEpoch, e); err != nil {
			return nil
		}
		replayed = max(replayed, e.Epoch)
	}
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.closing:
			return nil
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			w.Flush()
		case e := <-events:
			if ep, ok := e.Data.(runs.Epoch); ok && ep.Epoch <= replayed {
				continue // sent above: it was recorded between the subscription and the read
			}
			if err := send(e.Kind, e.Data); err != nil {
				return nil
			}
			if sc, ok := e.Data.(runs.StatusChange); ok && sc.Status.Done() {
				return nil
			}
		}
	}
}
