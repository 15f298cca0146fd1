package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func positiveBitsAVX512(x *float32, words int, bits *uint64)

//go:noescape
func maskBitsAVX512(dy *float32, words int, bits *uint64)

// positiveWords is positiveWordsGo with the AVX-512 routine (mask_amd64.s)
// where ks is the AVX-512 kernel set.
func (ks *kernels) positiveWords(x []float32, bits []uint64) {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512F || len(bits) == 0 {
		positiveWordsGo(x, bits)
		return
	}
	_ = x[64*len(bits)-1]
	positiveBitsAVX512(unsafe.SliceData(x), len(bits), unsafe.SliceData(bits))
}

// maskWords is maskWordsGo with the AVX-512 routine where positiveWords
// uses it.
func (ks *kernels) maskWords(dy []float32, bits []uint64) {
	if ks.kind != kindAVX512 || !cpu.X86.HasAVX512F || len(bits) == 0 {
		maskWordsGo(dy, bits)
		return
	}
	_ = dy[64*len(bits)-1]
	maskBitsAVX512(unsafe.SliceData(dy), len(bits), unsafe.SliceData(bits))
}
