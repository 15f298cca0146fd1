//go:build !amd64

package ops

func (ks *kernels) pool2Plane(xp []float32, w, iw, ho, wo int, y []float32, argmax []int32) {
	pool2(xp, w, iw, ho, wo, y, argmax)
}

func (ks *kernels) pool2GradPlane(dy, y []float32, argmax []int32, w, h, ho, wo int, mask bool, dx []float32) {
	pool2Grad(dy, y, argmax, w, h, ho, wo, mask, dx)
}
