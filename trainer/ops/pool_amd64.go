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
