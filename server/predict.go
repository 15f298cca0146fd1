package server

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // Register JPEG uploads.
	_ "image/png"  // Register PNG uploads.
	"io"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/trainer/captcha"
	"github.com/trainyard/trainyard/trainer/nn"
)

// finishedRun returns the run, or a 409 when it has no weights yet.
func (h *handler) finishedRun(c echo.Context) (runs.Run, error) {
	id, err := idParam(c, "run")
	if err != nil {
		return runs.Run{}, err
	}
	r, err := h.runs.Run(c.Request().Context(), id)
	if err != nil {
		return runs.Run{}, err
	}
	if r.Status != runs.StatusSucceeded {
		return runs.Run{}, conflict{msg: fmt.Sprintf("run %d is %s: only a succeeded run has weights", id, r.Status)}
	}
	return r, nil
}

// Limits of an image posted for prediction (a photo of a digit may be
// larger than a CAPTCHA data set's images); both are checked on the header,
// before the pixels are decoded.
const (
	maxPredictSide   = 4096
	maxPredictPixels = 4 << 20
)

// uploadedImage reads and decodes the multipart field "image".
func uploadedImage(c echo.Context) (image.Image, error) {
	fh, err := c.FormFile("image")
	if err != nil {
		if tooLarge(err) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the image is larger than %d MiB", maxImageUpload>>20))
		}
		return nil, fieldErrors{"image": `attach a PNG or JPEG image as the multipart field "image"`}
	}
	if fh.Size > maxImageUpload {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the image is larger than %d MiB", maxImageUpload>>20))
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImageUpload))
	if err != nil {
		return nil, err
	}
	name := captcha.Quote(fh.Filename)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fieldErrors{"image": name + " is not a PNG or JPEG image"}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPredictSide || cfg.Height > maxPredictSide || cfg.Width*cfg.Height > maxPredictPixels {
		return nil, fieldErrors{"image": fmt.Sprintf("%s is a %dx%d %s image; at most %dx%d and %d pixels are accepted", name, cfg.Width, cfg.Height, format, maxPredictSide, maxPredictSide, maxPredictPixels)}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fieldErrors{"image": name + " could not be decoded: " + captcha.Quote(err.Error())}
	}
	return img, nil
}

// apiRunPredict reads an uploaded image with the run's weights; the model is
// loaded once per run and kept (see modelCache).
func (h *handler) apiRunPredict(c echo.Context) error {
	r, err := h.finishedRun(c)
	if err != nil {
		return err
	}
	release, err := h.predicting.take(c)
	if err != nil {
		return err
	}
	defer release()
	img, err := uploadedImage(c)
	if err != nil {
		return err
	}
	lm, err := h.models.get(r.ID, func() (*nn.Model, error) {
		path, err := h.trainer.WeightsFile(r)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return nn.Load(f, 1)
	})
	if err != nil {
		return err
	}
	lm.mu.Lock()
	p, err := trainer.Predict(lm.model, img)
	lm.mu.Unlock()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// evaluateRequest is the body of POST /api/runs/:id/evaluate.
type evaluateRequest struct {
	DatasetID int64 `json:"dataset_id"`
}

// apiRunEvaluate measures the run's weights on an imported dataset (all its
// images), or an MNIST run on the MNIST test set. It answers synchronously,
// one evaluation at a time per process (another gets 429), a chunk of images
// in memory at a time, and stops when the client goes away.
func (h *handler) apiRunEvaluate(c echo.Context) error {
	r, err := h.finishedRun(c)
	if err != nil {
		return err
	}
	var req evaluateRequest
	if c.Request().ContentLength != 0 {
		if err := c.Bind(&req); err != nil {
			return badRequest{msg: "malformed JSON: give {\"dataset_id\": N}"}
		}
	}
	ctx := c.Request().Context()
	dir := ""
	if req.DatasetID != 0 {
		if _, err := h.datasets.Dataset(ctx, req.DatasetID); err != nil {
			return err
		}
		if dir, err = h.trainer.DatasetDir(ctx, req.DatasetID); err != nil {
			return err
		}
	} else if r.Spec.Dataset != "mnist" {
		return fieldErrors{"dataset_id": "choose an imported dataset to evaluate on"}
	}
	if r.Spec.Dataset == "mnist" && dir != "" {
		return fieldErrors{"dataset_id": "MNIST runs are evaluated on the MNIST test set; leave out dataset_id"}
	}
	path, err := h.trainer.WeightsFile(r)
	if err != nil {
		return err
	}
	release, err := h.evaluating.take(c)
	if err != nil {
		return err
	}
	defer release()
	res, err := trainer.EvaluateFile(ctx, path, dir)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
