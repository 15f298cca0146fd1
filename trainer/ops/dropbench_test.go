package ops

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkDropout times training-mode dropout at rate 0.25 on cnn1's
// flattened features (batch 256).
func BenchmarkDropout(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	xv := tensor.New(tensor.WithShape(256, 2304), tensor.WithBacking(randSlice(r, 256*2304)))
	buildMu.Lock()
	x := gorgonia.NodeFromAny(g, xv)
	y, err := Dropout(x, 0.25, NewMode(), 1)
	buildMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	op := y.Op().(*dropoutOp)
	for b.Loop() {
		if _, err := op.Do(xv); err != nil {
			b.Fatal(err)
		}
	}
}
