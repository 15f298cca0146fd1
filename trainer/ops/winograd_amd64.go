package ops

import "golang.org/x/sys/cpu"

// The Winograd transforms in winograd_amd64.s. Strides are in bytes.

//go:noescape
func winoInAVX512(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int)

//go:noescape
func winoOutAVX512(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int) // flags: 1 bias, 2 ReLU, 4 all 32 columns

//go:noescape
func winoDyAVX512(src *float32, rp, cnt, og int, dst *float32, cs, xstride int, db *float32)

//go:noescape
func winoIn5AVX512(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int)

//go:noescape
func winoOut5AVX512(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int)

//go:noescape
func winoDy5AVX512(src *float32, rp, cnt, og int, dst *float32, cs, xstride int, db *float32)

// winoAVX512 and winoAVX512F5 run the transforms of F(2x2, 3x3) and F(2x2,
// 5x5) and the products with AVX-512.
var (
	winoAVX512   = winoAVX512Kernels(3, winoInAVX512, winoOutAVX512, winoDyAVX512)
	winoAVX512F5 = winoAVX512Kernels(5, winoIn5AVX512, winoOut5AVX512, winoDy5AVX512)
)

func winoAVX512Kernels(r int,
	in func(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int),
	out func(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int),
	dy func(src *float32, rp, cnt, og int, dst *float32, cs, xstride int, db *float32),
) *winoKernels {
	return &winoKernels{
		name: "avx512",
		r:    r,
		in: func(src []float32, pitch, plane, nc int, dst []float32, cstride, xstride int) {
			in(ptr(src), 4*pitch, 4*plane, nc, ptr(dst), 4*cstride, 4*xstride)
		},
		out: func(m []float32, xstride, ostride, no int, y []float32, yplane, pitch, rows, cols int, bias []float32, relu bool) {
			flags := 0
			if bias != nil {
				flags |= 1
			}
			if relu {
				flags |= 2
			}
			if cols == 2*winoLane {
				flags |= 4 // no mask needed
			}
			out(ptr(m), 4*xstride, 4*ostride, no, ptr(y), 4*yplane, 4*pitch, rows, 1<<uint(cols)-1, biasPtr(bias), flags)
		},
		dy: func(src []float32, rp, cnt, o16 int, dst []float32, xstride int, db []float32) {
			_ = db[o16-1]
			dy(ptr(src), 4*rp, cnt, o16/16, ptr(dst), 4*o16, 4*xstride, ptr(db))
		},
		mm64: func(k int, a []float32, rsA, csA int, b []float32, bs int, c []float32, ldc int, acc bool) {
			kern6x64AVX512(k, ptr(a), 4*rsA, 4*csA, ptr(b), 4*bs, ptr(c), 4*ldc, nil, accFlag(acc))
		},
		mm16: func(k int, a []float32, rsA, csA int, b []float32, bs int, c []float32, ldc int, acc bool) {
			kern6x16AVX512(k, ptr(a), 4*rsA, 4*csA, ptr(b), 4*bs, ptr(c), 4*ldc, nil, accFlag(acc))
		},
		transpose: transposeFor(),
	}
}

// transposeFor returns the AVX-512 transposition where the CPU has AVX-512
// BW, which it needs, else nil.
func transposeFor() func(src []float32, pix int, dst []float32, n, nch, ds int) bool {
	if !cpu.X86.HasAVX512BW {
		return nil
	}
	return transpose16AVX512
}

func accFlag(acc bool) int {
	if acc {
		return flagAcc
	}
	return 0
}

// winoKernelsFor returns the Winograd implementation of F(2x2, r x r) for
// a kernel set.
func winoKernelsFor(ks *kernels, r int) *winoKernels {
	switch {
	case ks.kind == kindAVX512 && r == 5:
		return winoAVX512F5
	case ks.kind == kindAVX512:
		return winoAVX512
	case r == 5:
		return winoGo5
	}
	return winoGo
}
