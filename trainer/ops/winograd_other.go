//go:build !amd64

package ops

// winoKernelsFor returns the Winograd implementation for a kernel set.
func winoKernelsFor(_ *kernels, r int) *winoKernels {
	if r == 5 {
		return winoGo5
	}
	return winoGo
}
