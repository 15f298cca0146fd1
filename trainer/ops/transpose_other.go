//go:build !amd64

package ops

func (ks *kernels) transpose16(src []float32, pix int, dst []float32, n, nch, ds int) bool {
	return false
}
