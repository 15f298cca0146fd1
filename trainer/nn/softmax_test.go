package nn

import (
	"math"
	"testing"
)

// TestSoftmaxInto checks softmaxInto against the definition computed in
// float64, for ordinary, large (overflowing exp without the shift) and
// equal logits, and that NaN logits give NaN probabilities.
func TestSoftmaxInto(t *testing.T) {
	for _, z := range [][]float32{
		{1, 2, 3, 4},
		{-3.5, 0, 12.25, 7, -100},
		{1000, 999, 998},
		{5, 5, 5, 5, 5},
	} {
		p := make([]float32, len(z))
		softmaxInto(p, z)
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - m)
		}
		for j, v := range z {
			want := math.Exp(float64(v)-m) / s
			if math.Abs(float64(p[j])-want) > 1e-6 {
				t.Fatalf("softmax(%v)[%d] = %v, want %v", z, j, p[j], want)
			}
		}
	}
	p := make([]float32, 3)
	softmaxInto(p, []float32{1, float32(math.NaN()), 2})
	for j, v := range p {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("softmax with a NaN logit: p[%d] = %v, want NaN", j, v)
		}
	}
}
