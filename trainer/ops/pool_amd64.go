package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func pool2AVX512(x *float32, w, ho, wo int, y *float32, argmax *int32, iw int)

// pool2Plane is pool2 with the AVX-512 routine (pool_amd64.s) where the CPU
// has AVX-512 F and BW and ks is the AVX-512 kernel set.
func (ks *kernels) pool2Plane(xp []float32, w, iw, ho, wo int, y []float32, argmax []int32) {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512BW || ho == 0 || wo == 0 {
		pool2(xp, w, iw, ho, wo, y, argmax)
		return
	}
	_ = xp[(2*ho-1)*w+2*wo-1]
	_ = y[ho*wo-1]
	_ = argmax[ho*wo-1]
	pool2AVX512(unsafe.SliceData(xp), w, ho, wo, unsafe.SliceData(y), unsafe.SliceData(argmax), iw)
}

//go:noescape
func pool2GradAVX512(dy, y *float32, argmax *int32, w, ho, wo, mask int, dx *float32)

// pool2GradPlane is pool2Grad with the AVX-512 routine where pool2Plane
// uses it.
func (ks *kernels) pool2GradPlane(dy, y []float32, argmax []int32, w, h, ho, wo int, mask bool, dx []float32) {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512BW || ho == 0 || wo == 0 {
		pool2Grad(dy, y, argmax, w, h, ho, wo, mask, dx)
		return
	}
	_ = dy[ho*wo-1]
	_ = y[ho*wo-1]
	_ = argmax[ho*wo-1]
	_ = dx[h*w-1]
	m := 0
	if mask {
		m = 1
	}
	pool2GradAVX512(unsafe.SliceData(dy), unsafe.SliceData(y), unsafe.SliceData(argmax), w, ho, wo, m, unsafe.SliceData(dx))
	if 2*wo < w {
		for r := 0; r < 2*ho; r++ {
			clear(dx[r*w+2*wo : (r+1)*w])
		}
	}
	clear(dx[2*ho*w : h*w])
}

//go:noescape
func transposeAVX512(src *float32, pix int, dst *float32, n int, mask int)

// transpose16 writes dst[p*64+o] = src[o*pix+p] for p < n and o < nch (at
// most 16) with the AVX-512 routines (16 channels: 16x16 blocks in
// registers; fewer, or the last positions: a masked gather), and reports
// false, writing nothing, where pool2Plane would not use AVX-512.
func (ks *kernels) transpose16(src []float32, pix int, dst []float32, n, nch int) bool {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512BW || nch > 16 {
		return false
	}
	if n == 0 || nch <= 0 {
		return true
	}
	_ = src[(nch-1)*pix+n-1]
	_ = dst[(n-1)*panelW+nch-1]
	done := 0
	if nch == 16 && n >= 16 {
		// Whole 16x16 blocks in registers, the rest gathered.
		done = n / 16 * 16
		transpose16x16AVX512(unsafe.SliceData(src), pix, unsafe.SliceData(dst), n/16)
		if done == n {
			return true
		}
	}
	transposeAVX512(unsafe.SliceData(src[done:]), pix, unsafe.SliceData(dst[done*panelW:]), n-done, 1<<nch-1)
	return true
}

//go:noescape
func transpose16x16AVX512(src *float32, pix int, dst *float32, blocks int)
