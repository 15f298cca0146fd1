package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"golang.org/x/image/draw"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// maxPreview is the most images one preview shows.
const maxPreview = 24

// Size of the thumbnails of the originals a preview shows: twice the
// models' input, never enlarged.
const (
	thumbWidth  = 2 * captcha.Width
	thumbHeight = 2 * captcha.Height
)

// previewImage is one CAPTCHA before and after preprocessing, as base64 PNGs:
// a thumbnail of the original (at most 260x100) and the model's input.
type previewImage struct {
	Label     string `json:"label"`
	Original  string `json:"original"`
	Processed string `json:"processed"`
}

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
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > maxPreview {
			errs["n"] = fmt.Sprintf("n must be 1..%d", maxPreview)
		}
	}
	var out []previewImage
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
		g, err := captcha.NewGenerator(seed)
		if err != nil {
			return err
		}
		for i := range n {
			s := g.Synthetic(i)
			p, err := preview(s.Label, s.Image, mode)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
	case experiments.SourceDataset:
		id, err := strconv.ParseInt(c.QueryParam("dataset_id"), 10, 64)
		if err != nil || id < 1 {
			errs["dataset_id"] = "choose an imported dataset"
		}
		if len(errs) > 0 {
			return errs
		}
		if out, err = h.datasetPreview(c, id, n, mode); err != nil {
			return err
		}
	default:
		errs["source"] = `source must be "synthetic" or "dataset"`
		return errs
	}
	return c.JSON(http.StatusOK, map[string][]previewImage{"images": out})
}

// datasetPreview previews the first n images of an imported dataset, and
// opens no more.
func (h *handler) datasetPreview(c echo.Context, id int64, n int, mode string) ([]previewImage, error) {
	ctx := c.Request().Context()
	if _, err := h.datasets.Dataset(ctx, id); err != nil {
		return nil, err
	}
	dir, err := h.trainer.DatasetDir(ctx, id)
	if err != nil {
		return nil, err
	}
	f, err := captcha.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []previewImage
	for i := range min(n, f.Len()) {
		img, err := f.Image(i)
		if err != nil {
			return nil, err
		}
		p, err := preview(f.Entries[i].Label, img, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// preview is one image's thumbnail and preprocessed input.
func preview(label string, img image.Image, mode string) (previewImage, error) {
	proc, err := trainer.PreprocessedPNG(img, mode)
	if err != nil {
		return previewImage{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, thumbnail(img)); err != nil {
		return previewImage{}, err
	}
	return previewImage{Label: label, Original: base64.StdEncoding.EncodeToString(buf.Bytes()), Processed: proc}, nil
}

// thumbnail returns img scaled down, keeping its shape, to fit in
// thumbWidth x thumbHeight; a smaller image is returned as it is.
func thumbnail(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= thumbWidth && h <= thumbHeight {
		return img
	}
	scale := min(float64(thumbWidth)/float64(w), float64(thumbHeight)/float64(h))
	tw, th := max(int(float64(w)*scale), 1), max(int(float64(h)*scale), 1)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
