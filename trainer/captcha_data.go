package trainer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/captcha"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// CaptchaTestShare is the share of a CAPTCHA source's images kept apart as
// its test set. The test images are drawn with a fixed seed from the source
// alone, so every run on the same source tests on the same images; the
// validation set (spec.ValFraction) and the training set come from the rest.
const CaptchaTestShare = 0.2

// captchaTestSeed draws the test split; it never changes with spec.Seed.
const captchaTestSeed = 20240611

// maxCachedCaptcha bounds how many decoded CAPTCHA sets a process keeps.
const maxCachedCaptcha = 4

// captchaKey names one decoded, preprocessed CAPTCHA source.
type captchaKey struct {
	kind      string
	images    int
	seed      int64
	datasetID int64
	mode      string
}

// captchaData is one source split once into the images runs may train and
// validate on and the test images kept apart.
type captchaData struct {
	rest, test *dataset.Set
}

// captchaCache holds decoded CAPTCHA sets per (source, preprocessing).
type captchaCache struct {
	mu   sync.Mutex
	sets map[captchaKey]*captchaData
	// datasetDir returns the folder of an imported dataset; nil outside the
	// server, where only synthetic sources load.
	datasetDir func(ctx context.Context, id int64) (string, error)
}

func keyOf(spec experiments.Spec) captchaKey {
	src := experiments.Source{Kind: experiments.SourceSynthetic}
	if spec.Source != nil {
		src = *spec.Source
	}
	k := captchaKey{kind: src.Kind, mode: spec.Preprocessing}
	if src.Kind == experiments.SourceDataset {
		k.datasetID = src.DatasetID
	} else {
		k.images, k.seed = src.Images, src.Seed
		if k.images == 0 {
			k.images = 2000
		}
		if k.seed == 0 {
			k.seed = 1
		}
	}
	return k
}

// captchaSplits returns the train, validation and test sets of a CAPTCHA spec.
func (c *captchaCache) captchaSplits(spec experiments.Spec) (Splits, error) {
	d, err := c.load(keyOf(spec))
	if err != nil {
		return Splits{}, err
	}
	tr, val := dataset.Split(d.rest, spec)
	return Splits{Train: tr, Val: val, Test: d.test}, nil
}

func (c *captchaCache) load(k captchaKey) (*captchaData, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.sets[k]; ok {
		return d, nil
	}
	all, err := c.decode(k)
	if err != nil {
		return nil, err
	}
	d := splitCaptcha(all)
	if c.sets == nil || len(c.sets) >= maxCachedCaptcha {
		c.sets = map[captchaKey]*captchaData{}
	}
	c.sets[k] = d
	return d, nil
}

// drop forgets the decoded set of k, if cached.
func (c *captchaCache) drop(k captchaKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sets, k)
}

// dropDataset forgets the decoded sets of the imported dataset id (deleted).
func (c *captchaCache) dropDataset(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.sets {
		if k.kind == experiments.SourceDataset && k.datasetID == id {
			delete(c.sets, k)
		}
	}
}

// decode draws or reads every image of the source straight into its
// preprocessed place; no original outlives its preprocessing.
func (c *captchaCache) decode(k captchaKey) (*dataset.Set, error) {
	if k.kind != experiments.SourceDataset {
		s, err := SyntheticCaptchaSet(k.images, k.seed, k.mode)
		if err != nil {
			return nil, fmt.Errorf("generate CAPTCHAs: %w", err)
		}
		return s, nil
	}
	if c.datasetDir == nil {
		return nil, errors.New("imported CAPTCHA datasets load only inside the server")
	}
	dir, err := c.datasetDir(context.Background(), k.datasetID)
	if err != nil {
		return nil, err
	}
	s, err := LoadCaptchaDir(context.Background(), dir, k.mode)
	if err != nil {
		return nil, fmt.Errorf("dataset %d: %w", k.datasetID, err)
	}
	return s, nil
}

// splitCaptcha keeps CaptchaTestShare of all's images apart as the test set,
// drawn with a fixed seed.
func splitCaptcha(all *dataset.Set) *captchaData {
	perm := dataset.Permutation(all.N, captchaTestSeed)
	nTest := CaptchaTestCount(all.N)
	return &captchaData{rest: all.Subset(perm[nTest:]), test: all.Subset(perm[:nTest])}
}

// CaptchaTestCount is the number of test images of a source of n images.
func CaptchaTestCount(n int) int {
	if n < 2 {
		return 0
	}
	return max(int(CaptchaTestShare*float64(n)+0.5), 1)
}

// CaptchaTestIndices returns the indexes, into a source of n images, of the
// images kept apart as its test set, in test set order.
func CaptchaTestIndices(n int) []int {
	return dataset.Permutation(n, captchaTestSeed)[:CaptchaTestCount(n)]
}

// CaptchaClasses names the 19 classes of each CAPTCHA head.
func CaptchaClasses() []string {
	out := make([]string, captcha.NumClasses)
	for i := range out {
		out[i] = string(captcha.Symbol(i))
	}
	return out
}

// newCaptchaSet allocates a 4-head set of n images preprocessed with mode.
func newCaptchaSet(n int, mode string) (*dataset.Set, error) {
	ch, err := captcha.Channels(mode)
	if err != nil {
		return nil, err
	}
	return &dataset.Set{
		X: make([]float32, n*ch*captcha.Height*captcha.Width), Y: make([]int32, n*captcha.LabelLen),
		N: n, C: ch, H: captcha.Height, W: captcha.Width, Heads: captcha.LabelLen,
		Classes: CaptchaClasses(),
	}, nil
}

// preprocessors returns one Preprocessor per core, for workers to use by index.
func preprocessors(mode string) ([]*captcha.Preprocessor, error) {
	ps := make([]*captcha.Preprocessor, runtime.GOMAXPROCS(0))
	for i := range ps {
		p, err := captcha.NewPreprocessor(mode)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// CaptchaSet preprocesses samples with mode into a 4-head set, in parallel
// over the cores, one Preprocessor per goroutine.
func CaptchaSet(samples []captcha.Sample, mode string) (*dataset.Set, error) {
	return buildCaptchaSet(len(samples), mode, func(i int) (captcha.Sample, error) { return samples[i], nil })
}

// SyntheticCaptchaSet draws n synthetic CAPTCHAs for seed and preprocesses
// each with mode as soon as it is drawn.
func SyntheticCaptchaSet(n int, seed int64, mode string) (*dataset.Set, error) {
	g, err := captcha.NewGenerator(seed)
	if err != nil {
		return nil, err
	}
	return buildCaptchaSet(n, mode, func(i int) (captcha.Sample, error) { return g.Synthetic(i).Sample, nil })
}

// buildCaptchaSet fills a set of n images, image i from sample(i), on every core.
func buildCaptchaSet(n int, mode string, sample func(i int) (captcha.Sample, error)) (*dataset.Set, error) {
	s, err := newCaptchaSet(n, mode)
	if err != nil {
		return nil, err
	}
	ps, err := preprocessors(mode)
	if err != nil {
		return nil, err
	}
	errs := make([]error, n)
	workers := min(len(ps), max(n, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				sm, err := sample(i)
				if err == nil {
					err = fillCaptcha(ps[w], s, i, sm)
				}
				errs[i] = err
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func fillCaptcha(p *captcha.Preprocessor, s *dataset.Set, i int, sm captcha.Sample) error {
	classes, err := captcha.LabelClasses(sm.Label)
	if err != nil {
		return fmt.Errorf("%s: %w", sm.File, err)
	}
	for h, c := range classes {
		s.Y[i*s.Heads+h] = int32(c)
	}
	if err := p.Process(sm.Image, s.Pixels(i)); err != nil {
		return fmt.Errorf("%s: %w", sm.File, err)
	}
	return nil
}

// PreprocessCaptcha returns one image preprocessed with mode, C*H*W values.
func PreprocessCaptcha(img image.Image, mode string) ([]float32, error) {
	ch, err := captcha.Channels(mode)
	if err != nil {
		return nil, err
	}
	x := make([]float32, ch*captcha.Height*captcha.Width)
	if err := captcha.Preprocess(img, mode, x); err != nil {
		return nil, err
	}
	return x, nil
}

// PreprocessedPNG returns img preprocessed with mode, as the model sees it,
// as a base64 PNG.
func PreprocessedPNG(img image.Image, mode string) (string, error) {
	s, err := newCaptchaSet(1, mode)
	if err != nil {
		return "", err
	}
	if err := captcha.Preprocess(img, mode, s.Pixels(0)); err != nil {
		return "", err
	}
	return s.PNGBase64(0)
}

// LoadCaptchaDir loads a labelled CAPTCHA folder (see captcha.OpenDir: no
// symbolic links) and preprocesses every image with mode as soon as it is
// decoded, for training or evaluating on it; the originals are not kept.
func LoadCaptchaDir(ctx context.Context, dir, mode string) (*dataset.Set, error) {
	f, err := captcha.OpenDir(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return captchaFolderSet(ctx, f, 0, f.Len(), mode, nil)
}

// captchaFolderSet decodes images from..from+n-1 of f, each preprocessed
// with mode straight into reuse (when it is large enough) or a new set.
func captchaFolderSet(ctx context.Context, f *captcha.Folder, from, n int, mode string, reuse *dataset.Set) (*dataset.Set, error) {
	s := reuse
	if s == nil || len(s.X) < n*s.Size() || len(s.Y) < n*s.Heads {
		var err error
		if s, err = newCaptchaSet(n, mode); err != nil {
			return nil, err
		}
	} else {
		s.N, s.X, s.Y = n, s.X[:n*s.Size()], s.Y[:n*s.Heads]
	}
	ps, err := preprocessors(mode)
	if err != nil {
		return nil, err
	}
	err = f.DecodeRange(from, n, func(w, i int, e captcha.Entry, img image.Image) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fillCaptcha(ps[w], s, i-from, captcha.Sample{File: e.File, Label: e.Label, Image: img})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
