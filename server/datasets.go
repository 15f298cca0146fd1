package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/web"
)

// datasetRequest is the JSON body of POST /api/datasets: a folder under one
// of the data roots (absolute, or relative to a root).
type datasetRequest struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// importDataset imports the request's zip (multipart "file") or folder
// ("path"); it answers the dataset and whether it is new.
func (h *handler) importDataset(c echo.Context, name, path string) (experiments.Dataset, bool, error) {
	ctx := c.Request().Context()
	name = strings.TrimSpace(name)
	if len(name) > experiments.MaxNameLen {
		return experiments.Dataset{}, false, fieldErrors{"name": "name must be at most 200 characters"}
	}
	if path != "" {
		return h.importFolder(ctx, name, path)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		if tooLarge(err) {
			return experiments.Dataset{}, false, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return experiments.Dataset{}, false, fieldErrors{"file": "choose a zip file of labels.csv and its images (or give a folder path)"}
	}
	if fh.Size > trainer.MaxDatasetBytes {
		return experiments.Dataset{}, false, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	f, err := fh.Open()
	if err != nil {
		return experiments.Dataset{}, false, err
	}
	defer f.Close()
	if name == "" {
		name = strings.TrimSuffix(fh.Filename, ".zip")
	}
	d, err := h.trainer.ImportZip(ctx, name, f, fh.Size)
	return d, err == nil, err
}

func (h *handler) importFolder(ctx context.Context, name, path string) (experiments.Dataset, bool, error) {
	if len(h.datasetRoots) == 0 {
		return experiments.Dataset{}, false, fieldErrors{"path": "the server was started without data roots (--datasets DIR): upload a zip instead"}
	}
	d, created, err := h.trainer.ImportFolder(ctx, name, path, h.datasetRoots)
	switch {
	case errors.Is(err, trainer.ErrOutsideRoots):
		h.log.Info("folder import outside the data roots", "path", path, "roots", h.datasetRoots)
		return d, false, fieldErrors{"path": err.Error()}
	case errors.Is(err, trainer.ErrFolderLink):
		return d, false, fieldErrors{"path": err.Error()}
	}
	return d, created, err
}

// shownSources replaces each dataset's Source (the folder it was imported
// from, stored as an absolute path) by shownSource's, so no answer shows a
// server path.
func (h *handler) shownSources(ds []experiments.Dataset) []experiments.Dataset {
	for i := range ds {
		ds[i].Source = h.shownSource(ds[i].Source)
	}
	return ds
}

// shownSource is a folder import's source as a person names it: its path
// relative to the data root holding it ("vi", "2024/vi"), or its last
// element when no root holds it any more.
func (h *handler) shownSource(src string) string {
	if src == "" {
		return ""
	}
	for _, r := range h.datasetRoots {
		root, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(root, src); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(src)
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb) || (err != nil && strings.Contains(err.Error(), "too large"))
}

func (h *handler) apiDatasets(c echo.Context) error {
	ds, err := h.datasets.Datasets(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.shownSources(ds))
}

func (h *handler) apiDatasetCreate(c echo.Context) error {
	var req datasetRequest
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
			if tooLarge(err) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
			}
			return badRequest{msg: "malformed JSON: " + err.Error()}
		}
		if req.Path == "" {
			return fieldErrors{"path": "give the folder to import"}
		}
	} else {
		req.Name = c.FormValue("name")
	}
	d, created, err := h.importDataset(c, req.Name, req.Path)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if !created {
		code = http.StatusOK
	}
	d.Source = h.shownSource(d.Source)
	return c.JSON(code, d)
}

func (h *handler) datasetsPage(c echo.Context) error {
	return h.renderDatasets(c, http.StatusOK, web.DatasetsProps{})
}

func (h *handler) renderDatasets(c echo.Context, code int, p web.DatasetsProps) error {
	ds, err := h.datasets.Datasets(c.Request().Context())
	if err != nil {
		return err
	}
	p.Datasets, p.Roots, p.MaxMiB = h.shownSources(ds), h.datasetRoots, trainer.MaxDatasetBytes>>20
	return render(c, code, web.DatasetsPage(p))
}

// datasetCreate handles both forms of the datasets page; errors re-render it.
func (h *handler) datasetCreate(c echo.Context) error {
	name, path := c.FormValue("name"), strings.TrimSpace(c.FormValue("path"))
	if c.FormValue("kind") == "folder" && path == "" {
		return h.renderDatasets(c, http.StatusUnprocessableEntity, web.DatasetsProps{Error: "give the folder to import", Name: name})
	}
	_, _, err := h.importDataset(c, name, path)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/datasets")
	}
	code, msg := datasetError(err)
	if code == http.StatusInternalServerError {
		return err
	}
	return h.renderDatasets(c, code, web.DatasetsProps{Error: msg, Name: name, Path: path})
}

// datasetError is the status and message of an import error a person can fix.
func datasetError(err error) (int, string) {
	var fe fieldErrors
	var he *echo.HTTPError
	switch {
	case errors.As(err, &fe):
		for _, v := range fe {
			return http.StatusUnprocessableEntity, v
		}
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return he.Code, "the file is too large"
	case dataError(err) != nil:
		return http.StatusUnprocessableEntity, dataError(err).Error()
	}
	return http.StatusInternalServerError, ""
}

// apiDatasetDelete is DELETE /api/datasets/:id: 204, or 409 while a queued
// or running run trains on it.
func (h *handler) apiDatasetDelete(c echo.Context) error {
	id, err := idParam(c, "dataset")
	if err != nil {
		return err
	}
	if err := h.trainer.DeleteDataset(c.Request().Context(), id); err != nil {
		if errors.Is(err, trainer.ErrDatasetInUse) {
			return conflict{msg: fmt.Sprintf("dataset %d is used by a queued or running run: cancel it first, then delete the dataset", id)}
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
