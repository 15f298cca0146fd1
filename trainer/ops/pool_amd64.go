package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func pool2AVX512(x *float32, w, ho, wo int, y *float32, argmax *int32)

// pool2Plane is pool2 with the AVX-512 routine (pool_amd64.s) where the CPU
// has AVX-512 F and BW and ks is the AVX-512 kernel set.
func (ks *kernels) pool2Plane(xp []float32, w, ho, wo int, y []float32, argmax []int32) {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512BW || ho == 0 || wo == 0 {
		pool2(xp, w, ho, wo, y, argmax)
		return
	}
	_ = xp[(2*ho-1)*w+2*wo-1]
	_ = y[ho*wo-1]
	_ = argmax[ho*wo-1]
	pool2AVX512(unsafe.SliceData(xp), w, ho, wo, unsafe.SliceData(y), unsafe.SliceData(argmax))
}
