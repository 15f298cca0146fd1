package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// maxPreview is the most images one preview shows.
const maxPreview = 24

// previewImage is one CAPTCHA before and after preprocessing, as base64 PNGs.
type previewImage struct {
	Label     string `json:"label"`
	Original  string `json:"original"`
	Processed string `json:"processed"`
}

// apiPreview answers GET /api/preview?source=synthetic&seed=1&mode=dn&n=6
// (or source=dataset&dataset_id=N): the first n images of the source,
// original and preprocessed with mode.
func (h *handler) apiPreview(c echo.Context) error {
	errs := fieldErrors{}
	mode := c.QueryParam("mode")
	if mode != experiments.PreNone && mode != experiments.PreDenoise {
		errs["mode"] = `mode must be "nopre" or "dn"`
	}
	n := 6
	if v := c.QueryParam("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > maxPreview {
			errs["n"] = fmt.Sprintf("n must be 1..%d", maxPreview)
		}
	}
	var samples []captcha.Sample
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
		if samples, err = captcha.Generate(n, seed); err != nil {
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
		if samples, err = h.datasetSamples(c, id, n); err != nil {
			return err
		}
	default:
		errs["source"] = `source must be "synthetic" or "dataset"`
		return errs
	}
	set, err := trainer.CaptchaSet(samples, mode)
	if err != nil {
		return err
	}
	out := make([]previewImage, len(samples))
	for i, s := range samples {
		var buf bytes.Buffer
		if err := png.Encode(&buf, s.Image); err != nil {
			return err
		}
		proc, err := set.PNGBase64(i)
		if err != nil {
			return err
		}
		out[i] = previewImage{Label: s.Label, Original: base64.StdEncoding.EncodeToString(buf.Bytes()), Processed: proc}
	}
	return c.JSON(http.StatusOK, map[string][]previewImage{"images": out})
}

// datasetSamples loads the first n images of an imported dataset, and no more.
func (h *handler) datasetSamples(c echo.Context, id int64, n int) ([]captcha.Sample, error) {
	ctx := c.Request().Context()
	if _, err := h.datasets.Dataset(ctx, id); err != nil {
		return nil, err
	}
	dir, err := h.trainer.DatasetDir(ctx, id)
	if err != nil {
		return nil, err
	}
	set, err := captcha.LoadDirN(dir, n)
	if err != nil {
		return nil, err
	}
	return set.Samples, nil
}
