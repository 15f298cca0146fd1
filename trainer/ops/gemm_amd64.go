package ops

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly microkernels in gemm_amd64.s. Strides are in bytes; see the
// comment at the top of that file for the argument contract.

//go:noescape
func kern6x64AVX512(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func kern6x16AVX512(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func kern6x16AVX2(k int, a *float32, rsA, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int)

func init() {
	kernelSets = []*kernels{{name: "generic", kind: kindGeneric}}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernelSets = append(kernelSets, &kernels{name: "avx2", kind: kindAVX2})
	}
	if cpu.X86.HasAVX512F {
		kernelSets = append(kernelSets, &kernels{name: "avx512", kind: kindAVX512})
	}
	defaultKernels = kernelSets[len(kernelSets)-1]
}

func biasPtr(bias []float32) *float32 {
	if len(bias) == 0 {
		return nil
	}
	return unsafe.SliceData(bias)
}

// k64 computes a full 6x64 tile. Strides are in elements.
func (ks *kernels) k64(k int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, bias []float32, flags int) {
	switch ks.kind {
	case kindAVX512:
		kern6x64AVX512(k, unsafe.SliceData(a), rsA*4, csA*4, unsafe.SliceData(b), panelW*4, unsafe.SliceData(c), ldc*4, biasPtr(bias), flags)
	case kindAVX2:
		for q := 0; q < 4; q++ {
			bq := bias
			if flags&flagColBias != 0 {
				bq = bias[16*q:]
			}
			kern6x16AVX2(k, unsafe.SliceData(a), rsA*4, csA*4, unsafe.SliceData(b[16*q:]), panelW*4, unsafe.SliceData(c[16*q:]), ldc*4, biasPtr(bq), flags)
		}
	default:
		goKernel(6, 64, k, a, rsA, csA, b, c, ldc, bias, flags)
	}
}

// k16 computes a 6x16 tile whose B columns start at b. Strides are in elements.
func (ks *kernels) k16(k int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, bias []float32, flags int) {
	switch ks.kind {
	case kindAVX512:
		kern6x16AVX512(k, unsafe.SliceData(a), rsA*4, csA*4, unsafe.SliceData(b), panelW*4, unsafe.SliceData(c), ldc*4, biasPtr(bias), flags)
	case kindAVX2:
		kern6x16AVX2(k, unsafe.SliceData(a), rsA*4, csA*4, unsafe.SliceData(b), panelW*4, unsafe.SliceData(c), ldc*4, biasPtr(bias), flags)
	default:
		goKernel(6, 16, k, a, rsA, csA, b, c, ldc, bias, flags)
	}
}

//go:noescape
func kern6x64OffAVX512(k int, a *float32, rsA, csA int, b *float32, offs *int, c *float32, ldc int, bias *float32, flags int, b1, b2, b3 *float32)

//go:noescape
func kern4x64OffAVX512(k int, a *float32, rsA, csA int, b *float32, offs *int, c *float32, ldc int, bias *float32, flags int, b1, b2, b3 *float32)

// offKernel returns the offset kernel for a block of 6 or 4 rows.
func offKernel(rows int) func(k int, a *float32, rsA, csA int, b *float32, offs *int, c *float32, ldc int, bias *float32, flags int, b1, b2, b3 *float32) {
	if rows == 4 {
		return kern4x64OffAVX512
	}
	return kern6x64OffAVX512
}

// hasOffKernel reports whether k64off is available: an AVX-512 6x64 kernel
// that reads row kk of B at b + offs[kk].
func (ks *kernels) hasOffKernel() bool { return ks.kind == kindAVX512 }

// k64off computes a full rows x 64 tile (rows 6 or 4) whose B row kk is
// the 64 floats at b[offs[kk]/4:] (offs in bytes). A is read at a with row
// stride rsA and column stride 1 (elements). Only when hasOffKernel.
func (ks *kernels) k64off(rows, k int, a []float32, rsA int, b []float32, offs []int, c []float32, ldc int, bias []float32, flags int) {
	_ = b[3*16]
	offKernel(rows)(k, unsafe.SliceData(a), rsA*4, 4, unsafe.SliceData(b), unsafe.SliceData(offs), unsafe.SliceData(c), ldc*4, biasPtr(bias), flags, &b[16], &b[32], &b[48])
}

// k64offRows is k64off with B's 64 columns in four runs of 16 anywhere:
// column 16*i+j of row kk is b[i][offs[kk]/4+j]. The caller makes sure every
// such float lies within b[i]'s array. Only when hasOffKernel.
func (ks *kernels) k64offRows(rows, k int, a []float32, rsA int, b *[4][]float32, offs []int, c []float32, ldc int, bias []float32, flags int) {
	offKernel(rows)(k, unsafe.SliceData(a), rsA*4, 4, unsafe.SliceData(b[0]), unsafe.SliceData(offs), unsafe.SliceData(c), ldc*4, biasPtr(bias), flags, unsafe.SliceData(b[1]), unsafe.SliceData(b[2]), unsafe.SliceData(b[3]))
}

//go:noescape
func kern6x16RowsAVX512(k int, a *float32, aoffs *int, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int, rows int, skip int)

//go:noescape
func kern6x32RowsAVX512(k int, a *float32, aoffs *int, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int, rows int, skip int)

//go:noescape
func kern6x48RowsAVX512(k int, a *float32, aoffs *int, csA int, b *float32, bs int, c *float32, ldc int, bias *float32, flags int, rows int, skip int)

// kRows computes a 6 x n tile, n 16, 32 or 48, whose A row i is the
// rows*k floats at a[aoffs[i]/4:] (aoffs in bytes, six of them), read as rows
// runs of k with skip floats left out after each (a grid's extra columns),
// and whose B rows are bs floats apart, into C (ldc apart) or, with flagAcc,
// onto it; no other flag. Only when hasOffKernel.
func (ks *kernels) kRows(n, k, rows, skip int, a []float32, aoffs []int, b []float32, bs int, c []float32, ldc int, flags int) {
	_ = aoffs[5]
	if rows < 1 {
		return
	}
	flags &= flagAcc
	switch n {
	case 48:
		kern6x48RowsAVX512(k, unsafe.SliceData(a), unsafe.SliceData(aoffs), 4, unsafe.SliceData(b), bs*4, unsafe.SliceData(c), ldc*4, nil, flags, rows, skip*4)
	case 32:
		kern6x32RowsAVX512(k, unsafe.SliceData(a), unsafe.SliceData(aoffs), 4, unsafe.SliceData(b), bs*4, unsafe.SliceData(c), ldc*4, nil, flags, rows, skip*4)
	case 16:
		kern6x16RowsAVX512(k, unsafe.SliceData(a), unsafe.SliceData(aoffs), 4, unsafe.SliceData(b), bs*4, unsafe.SliceData(c), ldc*4, nil, flags, rows, skip*4)
	default:
		panic("ops: kRows wants 16, 32 or 48 columns")
	}
}
