package trainer

import (
	"fmt"
	"sync"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// Splits are the three sets one run trains, validates and tests on.
type Splits struct {
	Train, Val, Test *dataset.Set
}

// dataCache loads each dataset once per process; runs share the decoded images.
type dataCache struct {
	mu    sync.Mutex
	mnist *Splits
	captchaCache
}

func newDataCache() *dataCache { return &dataCache{} }

// LoadSplits returns the train, validation and test sets of spec.
func LoadSplits(spec experiments.Spec) (Splits, error) {
	return newDataCache().splits(spec)
}

func (c *dataCache) splits(spec experiments.Spec) (Splits, error) {
	switch spec.Dataset {
	case experiments.DatasetMNIST:
		c.mu.Lock()
		if c.mnist == nil {
			train, test, err := dataset.MNIST()
			if err != nil {
				c.mu.Unlock()
				return Splits{}, fmt.Errorf("load MNIST: %w", err)
			}
			c.mnist = &Splits{Train: train, Test: test}
		}
		all := *c.mnist
		c.mu.Unlock()
		tr, val := dataset.Split(all.Train, spec)
		return Splits{Train: tr, Val: val, Test: all.Test}, nil
	case experiments.DatasetCaptcha:
		return c.captchaSplits(spec)
	default:
		return Splits{}, fmt.Errorf("dataset %q is not available for training yet", spec.Dataset)
	}
}
