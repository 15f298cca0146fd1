package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// naiveGemm is the reference for gemm: same arguments, obvious loops.
func naiveGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for kk := 0; kk < k; kk++ {
				var av, bv float32
				if transA {
					av = a[kk*lda+i]
				} else {
					av = a[i*lda+kk]
				}
				if transB {
					bv = b[j*ldb+kk]
				} else {
					bv = b[kk*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if flags&flagAcc != 0 {
				s += float64(c[i*ldc+j])
			}
			if flags&flagRowBias != 0 {
				s += float64(bias[i])
			}
			if flags&flagColBias != 0 {
				s += float64(bias[j])
			}
			if flags&flagReLU != 0 && s < 0 {
				s = 0
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{1, 1, 1}, {5, 7, 3}, {6, 64, 9}, {7, 65, 13}, {13, 17, 31}, {12, 128, 40}, {37, 100, 1}, {64, 200, 77}, {3, 150, 20}, {100, 30, 257}, {6, 16, 2}, {11, 48, 5}, {8, 10, 0}}
	flagSets := []int{0, flagAcc, flagRowBias | flagReLU, flagColBias, flagAcc | flagColBias | flagReLU}
	for _, ks := range kernelSets {
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, flags := range flagSets {
					for _, workers := range []int{1, 2} {
						name := fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v/f=%d/w=%d", ks.name, m, n, k, tr[0], tr[1], flags, workers)
						lda, ldb, ldc := k+1, n+3, n+2
						if tr[0] {
							lda = m + 2
						}
						if tr[1] {
							ldb = k + 1
						}
						arows, brows := m, k
						if tr[0] {
							arows = k
						}
						if tr[1] {
							brows = n
						}
						a := randSlice(r, max(1, arows*lda))
						b := randSlice(r, max(1, brows*ldb))
						c0 := randSlice(r, m*ldc)
						bias := randSlice(r, max(m, n))
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						naiveGemm(tr[0], tr[1], m, n, k, a, lda, b, ldb, want, ldc, bias, flags)
						var pack []float32
						ks.gemm(tr[0], tr[1], m, n, k, a, lda, b, ldb, got, ldc, bias, flags, &pack, workers)
						for i := range want {
							if d := math.Abs(float64(want[i] - got[i])); d > 1e-4*(1+math.Abs(float64(want[i])))*math.Sqrt(float64(k+1)) {
								t.Fatalf("%s: element %d (row %d col %d): got %v want %v", name, i, i/ldc, i%ldc, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

func TestKernelSetsPresent(t *testing.T) {
	if len(kernelSets) == 0 || defaultKernels == nil {
		t.Fatal("no kernel sets registered")
	}
	t.Logf("kernels: default %s of %d", defaultKernels.name, len(kernelSets))
}

func benchGemm(b *testing.B, m, n, k, workers int, transA, transB bool) {
	r := rand.New(rand.NewPCG(1, 2))
	a := randSlice(r, m*k)
	bb := randSlice(r, k*n)
	c := make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	var pack []float32
	for _, ks := range kernelSets {
		if ks.kind == kindGeneric && m*n*k > 1<<24 {
			continue
		}
		b.Run(ks.name, func(b *testing.B) {
			for b.Loop() {
				ks.gemm(transA, transB, m, n, k, a, lda, bb, ldb, c, n, nil, 0, &pack, workers)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkGemmMLP1(b *testing.B)   { benchGemm(b, 256, 256, 784, 1, false, false) }
func BenchmarkGemmMLP2(b *testing.B)   { benchGemm(b, 256, 256, 784, 2, false, false) }
func BenchmarkGemmConv1(b *testing.B)  { benchGemm(b, 32, 6144, 288, 1, false, false) }
func BenchmarkGemmConv2(b *testing.B)  { benchGemm(b, 32, 6144, 288, 2, false, false) }
func BenchmarkGemm1024x1(b *testing.B) { benchGemm(b, 1024, 1024, 1024, 1, false, false) }
func BenchmarkGemm1024x2(b *testing.B) { benchGemm(b, 1024, 1024, 1024, 2, false, false) }
func BenchmarkGemmAtB(b *testing.B)    { benchGemm(b, 784, 256, 256, 2, true, false) }
func BenchmarkGemmABt(b *testing.B)    { benchGemm(b, 256, 784, 256, 2, false, true) }

// TestGemmReLUKeepsNaN checks that the fused ReLU of every kernel (6x64,
// 6x16 and the edges) keeps NaN, as ReLU and PyTorch do, and still clamps
// negatives.
func TestGemmReLUKeepsNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, ks := range kernelSets {
		for _, n := range []int{64, 48, 16, 10} {
			for _, flags := range []int{flagReLU, flagReLU | flagColBias, flagReLU | flagRowBias | flagAcc} {
				m, k := 7, 3
				a := make([]float32, m*k)
				for i := range a {
					a[i] = -1
				}
				a[0] = nan     // row 0 all NaN
				a[6*k+1] = nan // row 6: the overlapping edge block
				b := make([]float32, k*n)
				for i := range b {
					b[i] = 1
				}
				c := make([]float32, m*n)
				bias := make([]float32, max(m, n))
				var pack []float32
				ks.gemm(false, false, m, n, k, a, k, b, n, c, n, bias, flags, &pack, 1)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						v := c[i*n+j]
						if i == 0 || i == 6 {
							if !math.IsNaN(float64(v)) {
								t.Fatalf("%s n=%d flags=%d: C[%d,%d] = %v, want NaN", ks.name, n, flags, i, j, v)
							}
						} else if v != 0 {
							t.Fatalf("%s n=%d flags=%d: C[%d,%d] = %v, want 0", ks.name, n, flags, i, j, v)
						}
					}
				}
			}
		}
	}
}

// TestPeakGFLOPS checks that the peak measurement runs a kernel and counts its
// work: even the portable Go kernel reaches a few GFLOP/s.
func TestPeakGFLOPS(t *testing.T) {
	one := PeakGFLOPS(1, 30*time.Millisecond)
	if one < 1 || one > 1e4 {
		t.Fatalf("one thread: %.1f GFLOP/s, want between 1 and 10,000", one)
	}
	t.Logf("%s kernel: %.0f GFLOP/s on one thread", KernelName(), one)
}

// TestKRows checks the 6x16, 6x32 and 6x48 kernels that read A's rows
// through offsets against a plain sum, storing and accumulating, over
// depths with and without a tail, in one run or in several runs with
// columns skipped between them (a grid's rows).
func TestKRows(t *testing.T) {
	ks := defaultKernels
	if !ks.hasOffKernel() {
		t.Skip("no AVX-512 kernels")
	}
	r := rand.New(rand.NewPCG(7, 7))
	a := randSlice(r, 4096)
	type shape struct{ k, rows, skip int }
	shapes := []shape{{1, 1, 0}, {2, 1, 0}, {7, 1, 0}, {64, 1, 0}, {126, 1, 0}, {14, 6, 4}, {7, 3, 2}, {28, 3, 4}, {1, 5, 3}}
	for _, n := range []int{16, 32, 48} {
		for _, sh := range shapes {
			for _, acc := range []bool{false, true} {
				k := sh.k * sh.rows
				offs := []int{0, 4 * 300, 4 * 1000, 4 * 17, 4 * 2500, 4 * 3700}
				const bs, ldc = 64, 53
				b := randSlice(r, k*bs)
				c := randSlice(r, 6*ldc)
				want := append([]float32(nil), c...)
				for i := 0; i < 6; i++ {
					for j := 0; j < n; j++ {
						var sum float64
						for kk := 0; kk < k; kk++ {
							col := kk + kk/sh.k*sh.skip
							sum += float64(a[offs[i]/4+col]) * float64(b[kk*bs+j])
						}
						if acc {
							sum += float64(want[i*ldc+j])
						}
						want[i*ldc+j] = float32(sum)
					}
				}
				flags := 0
				if acc {
					flags = flagAcc
				}
				ks.kRows(n, sh.k, sh.rows, sh.skip, a, offs, b, bs, c, ldc, flags)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("n %d %+v acc %v: c[%d] = %v, want %v", n, sh, acc, i, c[i], want[i])
					}
				}
			}
		}
	}
}
