package trainer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // Register JPEG uploads.
	"image/png"
	"sync"

	"golang.org/x/image/draw"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/captcha"
	"github.com/trainyard/trainyard/trainer/nn"
)

// The serving API: what the server asks of trained runs and datasets
// (prediction, evaluation, preview, import), without touching models or
// images itself. Bad input data comes back as a *DataError.

// DataError is input data that cannot be used: a dataset (its archive,
// labels.csv or an image, named with the line) or an uploaded image. Field
// names the request field it came in ("file", "image").
type DataError struct {
	Field string
	Msg   string
	err   error
}

func (e *DataError) Error() string { return e.Msg }
func (e *DataError) Unwrap() error { return e.err }

// dataError turns the *captcha.DataError in err's chain, if any, into a
// *DataError of field; other errors are returned as they are.
func dataError(err error, field string) error {
	var de *captcha.DataError
	if errors.As(err, &de) {
		return &DataError{Field: field, Msg: de.Error(), err: err}
	}
	return err
}

// Limits of an image posted for prediction (a photo of a digit may be
// larger than a CAPTCHA data set's images); both are checked on the header,
// before the pixels are decoded.
const (
	MaxPredictSide   = 4096
	MaxPredictPixels = 4 << 20
)

// DecodeImage decodes an uploaded PNG or JPEG named name, checking its
// size from the header before decoding its pixels.
func DecodeImage(name string, data []byte) (image.Image, error) {
	q := captcha.Quote(name)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, &DataError{Field: "image", Msg: q + " is not a PNG or JPEG image"}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPredictSide || cfg.Height > MaxPredictSide || cfg.Width*cfg.Height > MaxPredictPixels {
		return nil, &DataError{Field: "image", Msg: fmt.Sprintf("%s is a %dx%d %s image; at most %dx%d and %d pixels are accepted",
			q, cfg.Width, cfg.Height, format, MaxPredictSide, MaxPredictSide, MaxPredictPixels)}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, &DataError{Field: "image", Msg: q + " could not be decoded: " + captcha.Quote(err.Error())}
	}
	return img, nil
}

// maxCachedModels bounds how many runs' models a process keeps loaded for
// prediction (at batch 1, about their weights' size each).
const maxCachedModels = 2

// loadedModel is one run's model, loaded once; a model is not safe for
// concurrent use, so each call holds mu.
type loadedModel struct {
	mu    sync.Mutex
	model *nn.Model
	err   error
	once  sync.Once
}

// modelCache keeps the models of finished runs loaded for prediction.
type modelCache struct {
	mu     sync.Mutex
	models map[string]*loadedModel
}

// get returns the model of key, loading it with load the first time.
func (c *modelCache) get(key string, load func() (*nn.Model, error)) (*loadedModel, error) {
	c.mu.Lock()
	if c.models == nil {
		c.models = map[string]*loadedModel{}
	}
	m, ok := c.models[key]
	if !ok {
		if len(c.models) >= maxCachedModels {
			clear(c.models)
		}
		m = &loadedModel{}
		c.models[key] = m
	}
	c.mu.Unlock()
	m.once.Do(func() { m.model, m.err = load() })
	if m.err != nil {
		c.mu.Lock()
		if c.models[key] == m {
			delete(c.models, key)
		}
		c.mu.Unlock()
		return nil, m.err
	}
	return m, nil
}

// PredictRun reads one image with a succeeded run's weights; the model is
// loaded once and kept for the next images.
func (t *Trainer) PredictRun(ctx context.Context, r runs.Run, img image.Image) (Prediction, error) {
	key := fmt.Sprintf("%d:%s", r.ID, r.WeightsPath)
	if r.WeightsSHA256 != nil {
		key += ":" + *r.WeightsSHA256
	}
	lm, err := t.models.get(key, func() (*nn.Model, error) { return t.loadRunModel(ctx, r, 1) })
	if err != nil {
		return Prediction{}, err
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return Predict(lm.model, img)
}

// EvaluateRun measures a succeeded run's weights on the imported dataset
// datasetID (every image, a chunk at a time), or, with datasetID 0, an MNIST
// run on the MNIST test set. It stops with ctx's error when ctx ends.
func (t *Trainer) EvaluateRun(ctx context.Context, r runs.Run, datasetID int64) (EvalResult, error) {
	dir := ""
	if datasetID != 0 {
		var err error
		if dir, err = t.DatasetDir(ctx, datasetID); err != nil {
			return EvalResult{}, err
		}
	}
	m, err := t.loadRunModel(ctx, r, 0)
	if err != nil {
		return EvalResult{}, err
	}
	res, err := evaluateModel(ctx, m, dir)
	return res, dataError(err, "file")
}

// MaxPreview is the most images one preview shows.
const MaxPreview = 24

// Size of the thumbnails of the originals a preview shows: twice the
// models' input, never enlarged.
const (
	ThumbWidth  = 2 * captcha.Width
	ThumbHeight = 2 * captcha.Height
)

// PreviewImage is one CAPTCHA before and after preprocessing, as base64
// PNGs: a thumbnail of the original (at most 260x100) and the model's input.
type PreviewImage struct {
	Label     string `json:"label"`
	Original  string `json:"original"`
	Processed string `json:"processed"`
}

// PreviewSynthetic previews the first n synthetic CAPTCHAs of seed,
// preprocessed with mode.
func PreviewSynthetic(seed int64, n int, mode string) ([]PreviewImage, error) {
	g, err := captcha.NewGenerator(seed)
	if err != nil {
		return nil, err
	}
	out := []PreviewImage{}
	for i := range min(n, MaxPreview) {
		s := g.Synthetic(i)
		p, err := preview(s.Label, s.Image, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PreviewDataset previews the first n images of the imported dataset id,
// preprocessed with mode; it decodes no more than those.
func (t *Trainer) PreviewDataset(ctx context.Context, id int64, n int, mode string) ([]PreviewImage, error) {
	dir, err := t.DatasetDir(ctx, id)
	if err != nil {
		return nil, err
	}
	f, err := captcha.OpenDir(dir)
	if err != nil {
		return nil, dataError(err, "file")
	}
	defer f.Close()
	out := []PreviewImage{}
	for i := range min(n, f.Len(), MaxPreview) {
		img, err := f.Image(i)
		if err != nil {
			return nil, dataError(err, "file")
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
func preview(label string, img image.Image, mode string) (PreviewImage, error) {
	if mode != experiments.PreNone && mode != experiments.PreDenoise {
		return PreviewImage{}, fmt.Errorf("unknown preprocessing %q", mode)
	}
	proc, err := PreprocessedPNG(img, mode)
	if err != nil {
		return PreviewImage{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, thumbnail(img)); err != nil {
		return PreviewImage{}, err
	}
	return PreviewImage{Label: label, Original: base64.StdEncoding.EncodeToString(buf.Bytes()), Processed: proc}, nil
}

// thumbnail returns img scaled down, keeping its shape, to fit in
// ThumbWidth x ThumbHeight; a smaller image is returned as it is.
func thumbnail(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= ThumbWidth && h <= ThumbHeight {
		return img
	}
	scale := min(float64(ThumbWidth)/float64(w), float64(ThumbHeight)/float64(h))
	tw, th := max(int(float64(w)*scale), 1), max(int(float64(h)*scale), 1)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
