package ops

import "runtime"

// Tile geometry of the microkernels: 6 rows of C by one packed panel of 64
// columns of B.
const (
	tileM  = 6
	panelW = 64
)

// Epilogue flags understood by every microkernel.
const (
	flagAcc     = 1 // C += A*B instead of C = A*B
	flagRowBias = 2 // add bias[i] to row i
	flagColBias = 4 // add bias[j] to column j
	flagReLU    = 8 // clamp the result at zero
	// flagPackedB tells gemm that its pack buffer already holds B packed
	// from an earlier call with the same B: it is used as it is. gemm
	// takes it off before the epilogue sees the flags.
	flagPackedB = 16
)

const (
	kindGeneric = iota
	kindAVX2
	kindAVX512
)

// kernels is one implementation of the microkernels, chosen by CPU features.
type kernels struct {
	name string
	kind int
}

// kernelSets lists every kernel implementation this CPU can run, slowest
// first; defaultKernels is the fastest. Both are set once by init from the CPU
// features and never changed afterwards.
var (
	kernelSets     []*kernels
	defaultKernels *kernels
)

// KernelName reports which matrix-multiply microkernel the package uses on
// this CPU: "avx512", "avx2" or "generic".
func KernelName() string { return defaultKernels.name }

// goKernel is the portable microkernel: C[mr x nc] (+)= A[mr x k] * B[k x nc]
// with the epilogue given by flags. B rows are panelW apart. Strides are in
// elements.
func goKernel(mr, nc, k int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, bias []float32, flags int) {
	var accBuf [panelW]float32
	for i := 0; i < mr; i++ {
		acc := accBuf[:nc]
		clear(acc)
		ai := i * rsA
		for kk := 0; kk < k; kk++ {
			av := a[ai+kk*csA]
			brow := b[kk*panelW : kk*panelW+nc]
			for j, bv := range brow {
				acc[j] += av * bv
			}
		}
		crow := c[i*ldc : i*ldc+nc]
		if flags&flagAcc != 0 {
			for j := range acc {
				acc[j] += crow[j]
			}
		}
		if flags&flagRowBias != 0 {
			bv := bias[i]
			for j := range acc {
				acc[j] += bv
			}
		}
		if flags&flagColBias != 0 {
			for j := range acc {
				acc[j] += bias[j]
			}
		}
		if flags&flagReLU != 0 {
			for j, v := range acc {
				if v < 0 {
					acc[j] = 0
				}
			}
		}
		copy(crow, acc)
	}
}

// packedSize returns the number of floats a k x n matrix needs in packed
// panel layout.
func packedSize(k, n int) int {
	return (n + panelW - 1) / panelW * panelW * k
}

// packB writes columns [p0*64, p1*64) of the k x n matrix B, where B[kk,j] is
// b[kk*rsB+j*csB], into dst in panel layout: panel p holds, for each kk, 64
// consecutive floats (zero beyond n) starting at dst[p*k*64+kk*64].
func packB(k, n int, b []float32, rsB, csB int, dst []float32, p0, p1 int) {
	for p := p0; p < p1; p++ {
		j0 := p * panelW
		nc := min(panelW, n-j0)
		panel := dst[p*k*panelW : (p+1)*k*panelW]
		if csB == 1 {
			for kk := 0; kk < k; kk++ {
				row := panel[kk*panelW : kk*panelW+panelW]
				copy(row, b[kk*rsB+j0:kk*rsB+j0+nc])
				clear(row[nc:])
			}
			continue
		}
		if rsB == 1 {
			// B transposed: read down the stored rows (64 of them stay in
			// L1) and store each panel row contiguously; storing down the
			// panel's columns instead is several times slower.
			src := b[j0*csB:]
			for kk := 0; kk < k; kk++ {
				row := panel[kk*panelW : kk*panelW+panelW]
				for j := range row[:nc] {
					row[j] = src[j*csB+kk]
				}
				clear(row[nc:])
			}
			continue
		}
		if nc < panelW {
			clear(panel)
		}
		for j := 0; j < nc; j++ {
			src := b[(j0+j)*csB:]
			for kk := 0; kk < k; kk++ {
				panel[kk*panelW+j] = src[kk*rsB]
			}
		}
	}
}

// gemmPanels computes C = A * B (with the epilogue in flags) for row blocks
// [r0, r1) (in units of 6 rows) and panels [p0, p1) of the packed B bp. A is
// m x k with A[i,kk] at a[i*rsA+kk*csA]; C[i,j] is c[i*ldc+j]. bias holds m
// floats for flagRowBias or n floats for flagColBias.
func (ks *kernels) gemmPanels(m, n, k int, a []float32, rsA, csA int, bp []float32, c []float32, ldc int, bias []float32, flags int, r0, r1, p0, p1 int) {
	for p := p0; p < p1; p++ {
		j0 := p * panelW
		ks.gemmPanel(m, min(panelW, n-j0), k, a, rsA, csA, bp[p*k*panelW:(p+1)*k*panelW], c[j0:], ldc, bias, j0, flags, r0, r1)
	}
}

// gemmPanel computes columns [j0, j0+nc) of C = A * B for row blocks [r0,
// r1), where panel is the packed panel of B holding those columns and c
// starts at C[0, j0]. bias is indexed as in gemmPanels.
func (ks *kernels) gemmPanel(m, nc, k int, a []float32, rsA, csA int, panel []float32, c []float32, ldc int, bias []float32, j0, flags int, r0, r1 int) {
	var tile [tileM * panelW]float32
	var cbias [panelW]float32
	colBias := flags&flagColBias != 0
	var pbias []float32
	if colBias {
		if nc == panelW {
			pbias = bias[j0 : j0+panelW]
		} else {
			copy(cbias[:], bias[j0:j0+nc])
			pbias = cbias[:]
		}
	}
	for r := r0; r < r1; r++ {
		i0 := r * tileM
		if m < tileM {
			b := pbias
			if !colBias {
				b = bias
			}
			goKernel(m, nc, k, a, rsA, csA, panel, c, ldc, b, flags)
			continue
		}
		// The last, partial row block overlaps the one before it: it is
		// computed in full into the tile and only its new rows are kept.
		skip := 0
		if i0+tileM > m {
			skip = i0 + tileM - m
			i0 = m - tileM
		}
		ai := a[i0*rsA:]
		b := pbias
		if !colBias && flags&flagRowBias != 0 {
			b = bias[i0 : i0+tileM]
		}
		if nc == panelW && skip == 0 {
			ks.k64(k, ai, rsA, csA, panel, c[i0*ldc:], ldc, b, flags)
			continue
		}
		if skip == 0 && nc%16 == 0 {
			for q := 0; q*16 < nc; q++ {
				bq := b
				if colBias {
					bq = b[16*q:]
				}
				ks.k16(k, ai, rsA, csA, panel[16*q:], c[i0*ldc+16*q:], ldc, bq, flags)
			}
			continue
		}
		if flags&flagAcc != 0 {
			for i := skip; i < tileM; i++ {
				copy(tile[i*panelW:i*panelW+nc], c[(i0+i)*ldc:(i0+i)*ldc+nc])
			}
		}
		if nc > 3*16 {
			ks.k64(k, ai, rsA, csA, panel, tile[:], panelW, b, flags)
		} else {
			for q := 0; q*16 < nc; q++ {
				bq := b
				if colBias {
					bq = b[16*q:]
				}
				ks.k16(k, ai, rsA, csA, panel[16*q:], tile[16*q:], panelW, bq, flags)
			}
		}
		for i := skip; i < tileM; i++ {
			copy(c[(i0+i)*ldc:(i0+i)*ldc+nc], tile[i*panelW:i*panelW+nc])
		}
	}
}

// gemm computes C = op(A) * op(B) with the epilogue in flags, where op(A) is
// m x k and op(B) is k x n. Without transposition A is stored m x k with row
// stride lda; with transA it is stored k x m. Likewise B is stored k x n or,
// with transB, n x k. pack is scratch space grown as needed; workers is the
// number of goroutines to use.
func (ks *kernels) gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int, pack *[]float32, workers int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		zeroEpilogue(m, n, c, ldc, bias, flags)
		return
	}
	rsA, csA := lda, 1
	if transA {
		rsA, csA = 1, lda
	}
	rsB, csB := ldb, 1
	if transB {
		rsB, csB = 1, ldb
	}
	need := packedSize(k, n)
	packed := flags&flagPackedB != 0 && len(*pack) == need
	flags &^= flagPackedB
	if cap(*pack) < need {
		*pack = make([]float32, need)
	}
	*pack = (*pack)[:need]
	bp := *pack
	packB := packB
	if packed {
		packB = func(int, int, []float32, int, int, []float32, int, int) {}
	}
	npan := (n + panelW - 1) / panelW
	nrb := (m + tileM - 1) / tileM
	if m < tileM {
		nrb = 1
	}
	workers = max(1, min(workers, runtime.GOMAXPROCS(0)))
	flops := 2 * m * n * k
	if flops < 1<<20 {
		workers = 1
	}
	if workers == 1 {
		packB(k, n, b, rsB, csB, bp, 0, npan)
		ks.gemmPanels(m, n, k, a, rsA, csA, bp, c, ldc, bias, flags, 0, nrb, 0, npan)
		return
	}
	if npan >= 2*workers || nrb < 2*workers {
		parallelFor(npan, workers, func(_, lo, hi int) {
			packB(k, n, b, rsB, csB, bp, lo, hi)
			ks.gemmPanels(m, n, k, a, rsA, csA, bp, c, ldc, bias, flags, 0, nrb, lo, hi)
		})
		return
	}
	parallelFor(npan, workers, func(_, lo, hi int) { packB(k, n, b, rsB, csB, bp, lo, hi) })
	parallelFor(nrb, workers, func(_, lo, hi int) {
		ks.gemmPanels(m, n, k, a, rsA, csA, bp, c, ldc, bias, flags, lo, hi, 0, npan)
	})
}

// zeroEpilogue applies the epilogue to a product with k == 0.
func zeroEpilogue(m, n int, c []float32, ldc int, bias []float32, flags int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			v := float32(0)
			if flags&flagAcc != 0 {
				v = row[j]
			}
			if flags&flagRowBias != 0 {
				v += bias[i]
			}
			if flags&flagColBias != 0 {
				v += bias[j]
			}
			if flags&flagReLU != 0 && v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}
