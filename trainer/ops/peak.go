package ops

import (
	"sync"
	"time"
)

// PeakGFLOPS measures this machine's multiply-add rate with the package's own
// fastest microkernel: each of threads goroutines multiplies a 6x128 tile of A
// by a 128x64 panel of B (operands that stay in L1) for about d, and the sum
// of their rates is returned in GFLOP/s (a multiply-add counts two). Each
// goroutine's rate is the best of ten windows of d/10, so that another
// process taking the CPU for a moment, or a CPU still warming up, does not
// lower the ceiling. It is the
// ceiling the training kernels are held against (trainyard bench's
// peak_fraction), measured rather than taken from a datasheet, since clocks
// under AVX-512 load differ from machine to machine.
func PeakGFLOPS(threads int, d time.Duration) float64 {
	const k, calls, windows = 128, 500, 10
	threads = max(threads, 1)
	rates := make([]float64, threads)
	var wg sync.WaitGroup
	for t := range threads {
		wg.Go(func() {
			a := make([]float32, tileM*k)
			b := make([]float32, k*panelW)
			c := make([]float32, tileM*panelW)
			for i := range a {
				a[i] = float32(i%13) / 13
			}
			for i := range b {
				b[i] = float32(i%7) / 7
			}
			ks := defaultKernels
			for range windows {
				n := 0
				start := time.Now()
				for {
					for range calls {
						ks.k64(k, a, k, 1, b, c, panelW, nil, 0)
					}
					n += calls
					if el := time.Since(start); el >= d/windows {
						rates[t] = max(rates[t], float64(2*tileM*panelW*k)*float64(n)/el.Seconds()/1e9)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0.0
	for _, r := range rates {
		total += r
	}
	return total
}
