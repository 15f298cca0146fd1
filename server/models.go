package server

import (
	"sync"

	"github.com/trainyard/trainyard/trainer/nn"
)

// maxCachedModels bounds how many runs' models the server keeps loaded for
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
	models map[int64]*loadedModel
}

func newModelCache() *modelCache { return &modelCache{models: map[int64]*loadedModel{}} }

// get returns run id's model, loading it with load the first time.
func (c *modelCache) get(id int64, load func() (*nn.Model, error)) (*loadedModel, error) {
	c.mu.Lock()
	m, ok := c.models[id]
	if !ok {
		if len(c.models) >= maxCachedModels {
			clear(c.models)
		}
		m = &loadedModel{}
		c.models[id] = m
	}
	c.mu.Unlock()
	m.once.Do(func() { m.model, m.err = load() })
	if m.err != nil {
		c.mu.Lock()
		if c.models[id] == m {
			delete(c.models, id)
		}
		c.mu.Unlock()
		return nil, m.err
	}
	return m, nil
}
