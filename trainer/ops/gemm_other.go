//go:build !amd64

package ops

func init() {
	kernelSets = []*kernels{{name: "generic", kind: kindGeneric}}
	defaultKernels = kernelSets[0]
}

// k64 computes a full 6x64 tile. Strides are in elements.
func (ks *kernels) k64(k int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, bias []float32, flags int) {
	goKernel(6, 64, k, a, rsA, csA, b, c, ldc, bias, flags)
}

// k16 computes a 6x16 tile whose B columns start at b. Strides are in elements.
func (ks *kernels) k16(k int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, bias []float32, flags int) {
	goKernel(6, 16, k, a, rsA, csA, b, c, ldc, bias, flags)
}

func (ks *kernels) hasOffKernel() bool { return false }

func (ks *kernels) k64off(rows, k int, a []float32, rsA int, b []float32, offs []int, c []float32, ldc int, bias []float32, flags int) {
	panic("ops: no k64off on this architecture")
}

func (ks *kernels) kRows(n, k, rows, skip int, a []float32, aoffs []int, b []float32, bs int, c []float32, ldc int, flags int) {
	panic("ops: no kRows on this architecture")
}

func (ks *kernels) k64offRows(rows, k int, a []float32, rsA int, b *[4][]float32, offs []int, c []float32, ldc int, bias []float32, flags int) {
	panic("ops: no k64offRows on this architecture")
}
