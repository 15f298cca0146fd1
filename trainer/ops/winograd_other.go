//go:build !amd64

package ops

// winoKernelsFor returns the Winograd implementation for a kernel set.
func winoKernelsFor(*kernels) *winoKernels { return winoGo }
