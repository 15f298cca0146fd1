package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func rowAxpyAVX512(x *float32, k int, w *float32, ldw, n int, acc *float32)

// rowAxpy adds x (k values) times w (k rows ldw floats apart, n columns) to
// acc (n values), with the AVX-512 routine (dense_amd64.s) where ks is the
// AVX-512 kernel set, 64 columns at a time.
func (ks *kernels) rowAxpy(x, w []float32, ldw, n int, acc []float32) {
	k := len(x)
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512F || k == 0 || n == 0 {
		rowAxpy(x, w, ldw, n, acc)
		return
	}
	_ = w[(k-1)*ldw+n-1]
	_ = acc[n-1]
	for j0 := 0; j0 < n; j0 += 64 {
		rowAxpyAVX512(unsafe.SliceData(x), k, &w[j0], ldw, min(64, n-j0), &acc[j0])
	}
}
