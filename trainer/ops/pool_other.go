//go:build !amd64

package ops

func (ks *kernels) pool2Plane(xp []float32, w, ho, wo int, y []float32, argmax []int32) {
	pool2(xp, w, ho, wo, y, argmax)
}
