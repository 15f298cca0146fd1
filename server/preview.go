package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
)

// apiPreview answers GET /api/preview?source=synthetic&seed=1&mode=dn&n=6
// (or source=dataset&dataset_id=N): the first n images of the source, as
// thumbnails and preprocessed with mode. Images are decoded one at a time.
func (h *handler) apiPreview(c echo.Context) error {
	errs := fieldErrors{}
	mode := c.QueryParam("mode")
	if mode != experiments.PreNone && mode != experiments.PreDenoise {
		errs["mode"] = `mode must be "nopre" or "dn"`
	}
	n := 6
	if v := c.QueryParam("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > trainer.MaxPreview {
			errs["n"] = fmt.Sprintf("n must be 1..%d", trainer.MaxPreview)
		}
	}
	var out []trainer.PreviewImage
	switch c.QueryParam("source") {
	case "", experiments.SourceSynthetic:
		seed, err := strconv.ParseInt(c.QueryParam("seed"), 10, 64)
		if c.QueryParam("seed") == "" {
			seed, err = 1, nil
		}
		if err != nil {
			errs["seed"] = "seed must be a whole number"
		}
		if len(errs) > 0 {
			return errs
		}
		if out, err = trainer.PreviewSynthetic(seed, n, mode); err != nil {
			return err
		}
	case experiments.SourceDataset:
		id, err := strconv.ParseInt(c.QueryParam("dataset_id"), 10, 64)
		if err != nil || id < 1 {
			errs["dataset_id"] = "choose an imported dataset"
		}
		if len(errs) > 0 {
			return errs
		}
		if _, err := h.datasets.Dataset(c.Request().Context(), id); err != nil {
			return err
		}
		if out, err = h.trainer.PreviewDataset(c.Request().Context(), id, n, mode); err != nil {
			return err
		}
	default:
		errs["source"] = `source must be "synthetic" or "dataset"`
		return errs
	}
	return c.JSON(http.StatusOK, map[string][]trainer.PreviewImage{"images": out})
}
