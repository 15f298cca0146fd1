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
	samples, err := c.samples(k)
	if err != nil {
		return nil, err
	}
	all, err := CaptchaSet(samples, k.mode)
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

func (c *captchaCache) samples(k captchaKey) ([]captcha.Sample, error) {
	if k.kind != experiments.SourceDataset {
		s, err := captcha.Generate(k.images, k.seed)
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
	set, err := captcha.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset %d: %w", k.datasetID, err)
	}
	return set.Samples, nil
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

// CaptchaSet preprocesses samples with mode into a 4-head set, in parallel
// over the cores, one Preprocessor per goroutine.
func CaptchaSet(samples []captcha.Sample, mode string) (*dataset.Set, error) {
	ch, err := captcha.Channels(mode)
	if err != nil {
		return nil, err
	}
	n := len(samples)
	size := ch * captcha.Height * captcha.Width
	s := &dataset.Set{
		X: make([]float32, n*size), Y: make([]int32, n*captcha.LabelLen),
		N: n, C: ch, H: captcha.Height, W: captcha.Width, Heads: captcha.LabelLen,
		Classes: CaptchaClasses(),
	}
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			p, _ := captcha.NewPreprocessor(mode)
			for i := w; i < n; i += workers {
				errs[i] = fillCaptcha(p, s, i, samples[i])
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

// LoadCaptchaDir loads a labelled CAPTCHA folder and preprocesses every
// image with mode, for evaluating a trained model on it.
func LoadCaptchaDir(dir, mode string) (*dataset.Set, error) {
	set, err := captcha.LoadDir(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	return CaptchaSet(set.Samples, mode)
}
