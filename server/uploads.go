package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
)

// Upload limits of the routes that take files; they replace the server-wide
// MaxBodyBytes on those routes (see ownBodyLimit).
const (
	// maxImageUpload bounds an image posted for prediction.
	maxImageUpload = 8 << 20
	// maxZipUpload bounds a dataset zip with its form fields.
	maxZipUpload = trainer.MaxDatasetBytes + 1<<20
)

// uploadRoutes are the routes with their own body limit.
var uploadRoutes = map[string]int64{
	"/api/datasets":          maxZipUpload,
	"/datasets":              maxZipUpload,
	"/api/runs/:id/predict":  maxImageUpload,
	"/runs/:id/predict":      maxImageUpload,
	"/api/runs/:id/evaluate": 1 << 20,
}

// ownBodyLimit reports whether a route sets its own body limit, so the
// server-wide limit skips it.
func ownBodyLimit(c echo.Context) bool {
	_, ok := uploadRoutes[c.Path()]
	return ok && c.Request().Method == http.MethodPost
}

// uploadLimit is the body limit middleware of an upload route.
func uploadLimit(path string) echo.MiddlewareFunc {
	return middleware.BodyLimit(fmt.Sprintf("%dB", uploadRoutes[path]))
}

// dataError returns the *trainer.DataError in err's chain, or nil.
func dataError(err error) *trainer.DataError {
	var de *trainer.DataError
	if errors.As(err, &de) {
		return de
	}
	return nil
}

// uploadError maps the errors of datasets and uploads: bad data is 422
// under its field (a data set's file and line, once, in errors.file; an
// image in errors.image), an unknown dataset 404, a busy evaluation or
// prediction 429. ok is false for others.
func uploadError(err error) (code int, msg string, fields fieldErrors, ok bool) {
	if de := dataError(err); de != nil {
		if de.Field == "image" {
			return http.StatusUnprocessableEntity, "invalid image", fieldErrors{"image": de.Error()}, true
		}
		return http.StatusUnprocessableEntity, "invalid dataset", fieldErrors{"file": de.Error()}, true
	}
	var b busy
	if errors.As(err, &b) {
		return http.StatusTooManyRequests, b.msg, nil, true
	}
	if errors.Is(err, experiments.ErrDatasetNotFound) {
		return http.StatusNotFound, err.Error(), nil, true
	}
	return 0, "", nil, false
}
