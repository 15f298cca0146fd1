package ops

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchConvStep times a forward pass and both gradients of one convolution
// (batch n) by running its ops directly.
func benchConvStep(b *testing.B, n, c, h, w, o, k int, pad Padding) {
	r := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	xs := []int{n, c, h, w}
	mk := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randSlice(r, prod(shape))))
	}
	xv, wv, bv := mk(xs...), mk(o, c, k, k), mk(o)
	buildMu.Lock()
	x := gorgonia.NodeFromAny(g, xv)
	wn := gorgonia.NodeFromAny(g, wv)
	bn := gorgonia.NodeFromAny(g, bv)
	y, err := conv2D(x, wn, bn, pad, true, true)
	buildMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	op := y.Op().(*conv2dOp)
	gx := &conv2dGradXOp{st: op.st}
	gw := &conv2dGradWOp{st: op.st}
	out, err := op.Do(xv, wv, bv)
	if err != nil {
		b.Fatal(err)
	}
	yv := out.(*tensor.Dense)
	dyv := mk(yv.Shape()...)
	for _, part := range []string{"fwd", "gradX", "gradW"} {
		b.Run(part, func(b *testing.B) {
			for b.Loop() {
				var err error
				switch part {
				case "fwd":
					_, err = op.Do(xv, wv, bv)
				case "gradX":
					op.st.fwdRuns++
					_, err = gx.Do(wv, yv, dyv)
				case "gradW":
					_, err = gw.Do(xv, yv, dyv)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConvCNN2a(b *testing.B)       { benchConvStep(b, 64, 1, 28, 28, 16, 5, Same) }
func BenchmarkConvCNN2b(b *testing.B)       { benchConvStep(b, 64, 16, 14, 14, 36, 5, Same) }
func BenchmarkConvCNN1a(b *testing.B)       { benchConvStep(b, 64, 1, 28, 28, 8, 5, Same) }
func BenchmarkConvCNN1b(b *testing.B)       { benchConvStep(b, 64, 8, 14, 14, 16, 3, Valid) }
func BenchmarkConvCaptcha(b *testing.B)     { benchConvStep(b, 8, 32, 25, 65, 64, 5, Same) }
func BenchmarkConvCaptchaWide(b *testing.B) { benchConvStep(b, 8, 128, 11, 31, 256, 3, Valid) }

func BenchmarkConvCaptchaFirst(b *testing.B) { benchConvStep(b, 8, 3, 50, 130, 32, 5, Same) }
