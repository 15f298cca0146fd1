package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func transposeAVX512(src *float32, pix int, dst *float32, n int, mask int, ds int)

// transpose16 writes dst[p*ds+o] = src[o*pix+p] for p < n and o < nch (at
// most 16) with the AVX-512 routines (16 channels: 16x16 blocks in
// registers; fewer, or the last positions: a masked gather), and reports
// false, writing nothing, without AVX-512 F and BW or the AVX-512 kernel set.
func (ks *kernels) transpose16(src []float32, pix int, dst []float32, n, nch, ds int) bool {
	if ks.kind != kindAVX512 {
		return false
	}
	return transpose16AVX512(src, pix, dst, n, nch, ds)
}

// transpose16AVX512 is transpose16 for the AVX-512 kernel set.
func transpose16AVX512(src []float32, pix int, dst []float32, n, nch, ds int) bool {
	if !cpu.X86.HasAVX512BW || nch > 16 {
		return false
	}
	if n == 0 || nch <= 0 {
		return true
	}
	_ = src[(nch-1)*pix+n-1]
	_ = dst[(n-1)*ds+nch-1]
	done := 0
	if nch == 16 && n >= 16 {
		// Whole 16x16 blocks in registers, the rest gathered.
		done = n / 16 * 16
		transpose16x16AVX512(unsafe.SliceData(src), pix, unsafe.SliceData(dst), n/16, 4*ds)
		if done == n {
			return true
		}
	}
	transposeAVX512(unsafe.SliceData(src[done:]), pix, unsafe.SliceData(dst[done*ds:]), n-done, 1<<nch-1, 4*ds)
	return true
}

//go:noescape
func transpose16x16AVX512(src *float32, pix int, dst *float32, blocks int, ds int)
