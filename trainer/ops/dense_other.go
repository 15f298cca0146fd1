//go:build !amd64

package ops

func (ks *kernels) rowAxpy(x, w []float32, ldw, n int, acc []float32) {
	rowAxpy(x, w, ldw, n, acc)
}
