package server

import (
	"fmt"
	"image"
	_ "image/jpeg" // Register JPEG uploads.
	_ "image/png"  // Register PNG uploads.
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
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
	img, err := trainer.DecodeImage(fh.Filename, data)
	if de := dataError(err); de != nil {
		return nil, fieldErrors{"image": de.Error()}
	}
	return img, err
}

// apiRunPredict reads an uploaded image with the run's weights; the trainer
// loads the model once per run and keeps it.
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
	p, err := h.trainer.PredictRun(c.Request().Context(), r, img)
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
	if req.DatasetID != 0 {
		if _, err := h.datasets.Dataset(ctx, req.DatasetID); err != nil {
			return err
		}
		if r.Spec.Dataset == "mnist" {
			return fieldErrors{"dataset_id": "MNIST runs are evaluated on the MNIST test set; leave out dataset_id"}
		}
	} else if r.Spec.Dataset != "mnist" {
		return fieldErrors{"dataset_id": "choose an imported dataset to evaluate on"}
	}
	release, err := h.evaluating.take(c)
	if err != nil {
		return err
	}
	defer release()
	res, err := h.trainer.EvaluateRun(ctx, r, req.DatasetID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
