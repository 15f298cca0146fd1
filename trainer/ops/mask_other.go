//go:build !amd64

package ops

func (ks *kernels) positiveWords(x []float32, bits []uint64) { positiveWordsGo(x, bits) }

func (ks *kernels) maskWords(dy []float32, bits []uint64) { maskWordsGo(dy, bits) }
