package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestRowAxpyKernels holds each kernel set's rowAxpy (AVX-512 assembly
// where the CPU has it) to the Go loop, for every column count from 1 to
// 130 (one, two and three 64-column blocks, full and partial 16-lane
// groups), weights rows wider than the columns read, and the floats just
// past the columns left as they were.
func TestRowAxpyKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, ks := range kernelSets {
		for n := 1; n <= 130; n++ {
			for _, k := range []int{1, 7, 300} {
				ldw := n + 3
				x := make([]float32, k)
				w := make([]float32, k*ldw)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				for i := range w {
					w[i] = float32(r.NormFloat64())
				}
				got, want := make([]float32, n+1), make([]float32, n+1)
				for i := range got {
					got[i] = float32(r.NormFloat64())
					want[i] = got[i]
				}
				ks.rowAxpy(x, w, ldw, n, got[:n])
				rowAxpy(x, w, ldw, n, want[:n])
				for j := range got {
					if d := math.Abs(float64(got[j] - want[j])); d > 1e-5*float64(k) {
						t.Fatalf("%s: n=%d k=%d: acc[%d] = %v, want %v", ks.name, n, k, j, got[j], want[j])
					}
				}
				if got[n] != want[n] {
					t.Fatalf("%s: n=%d k=%d: wrote past the columns", ks.name, n, k)
				}
			}
		}
	}
}

// BenchmarkRowAxpy is one image through a dense layer's weights (784 x 256,
// mnist-nn1's first layer, and 7168 x 19, a captcha-model1 head), with the
// kernel set's rowAxpy and with the Go loop.
//
//	go test -run '^$' -bench RowAxpy ./trainer/ops/
func BenchmarkRowAxpy(b *testing.B) {
	for _, sz := range [][2]int{{784, 256}, {7168, 19}} {
		k, n := sz[0], sz[1]
		x, w, acc := make([]float32, k), make([]float32, k*n), make([]float32, n)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		b.Run(fmt.Sprintf("%dx%d/%s", k, n, defaultKernels.name), func(b *testing.B) {
			for b.Loop() {
				defaultKernels.rowAxpy(x, w, n, n, acc)
			}
		})
		b.Run(fmt.Sprintf("%dx%d/go", k, n), func(b *testing.B) {
			for b.Loop() {
				rowAxpy(x, w, n, n, acc)
			}
		})
	}
}
