package ops

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchConvStep times a forward pass and both gradients of one convolution
// (batch n) by running its ops directly.
func benchConvStep(b *testing.B, n, c, h, w, o, k int, pad Padding) {
	benchConvAlgo(b, n, c, h, w, o, k, pad, algoAuto)
}

func benchConvAlgo(b *testing.B, n, c, h, w, o, k int, pad Padding, algo convAlgo) {
	r := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	xs := []int{n, c, h, w}
	mk := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randSlice(r, prod(shape))))
	}
	xv, wv, bv := mk(xs...), mk(o, c, k, k), mk(o)
	buildMu.Lock()
	x := gorgonia.NodeFromAny(g, xv)
	wn := gorgonia.NodeFromAny(g, wv)
	bn := gorgonia.NodeFromAny(g, bv)
	y, err := conv2DAlgo(x, wn, bn, pad, true, true, algo, nil)
	buildMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	op := y.Op().(*conv2dOp)
	gx := &conv2dGradXOp{st: op.st}
	gw := &conv2dGradWOp{st: op.st}
	out, err := op.Do(xv, wv, bv)
	if err != nil {
		b.Fatal(err)
	}
	yv := out.(*tensor.Dense)
	dyv := mk(yv.Shape()...)
	for _, part := range []string{"fwd", "gradX", "gradW"} {
		b.Run(part, func(b *testing.B) {
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				var err error
				switch part {
				case "fwd":
					_, err = op.Do(xv, wv, bv)
				case "gradX":
					op.st.fwdRuns++
					_, err = gx.Do(wv, yv, dyv)
				case "gradW":
					_, err = gw.Do(xv, yv, dyv)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConvCNN2a(b *testing.B)       { benchConvStep(b, 64, 1, 28, 28, 16, 5, Same) }
func BenchmarkConvCNN2b(b *testing.B)       { benchConvStep(b, 64, 16, 14, 14, 36, 5, Same) }
func BenchmarkConvCNN1a(b *testing.B)       { benchConvStep(b, 64, 1, 28, 28, 8, 5, Same) }
func BenchmarkConvCNN1b(b *testing.B)       { benchConvStep(b, 64, 8, 14, 14, 16, 3, Valid) }
func BenchmarkConvCaptcha(b *testing.B)     { benchConvStep(b, 8, 32, 25, 65, 64, 5, Same) }
func BenchmarkConvCaptchaWide(b *testing.B) { benchConvStep(b, 8, 128, 11, 31, 256, 3, Valid) }

func BenchmarkConvCaptchaFirst(b *testing.B) { benchConvStep(b, 8, 3, 50, 130, 32, 5, Same) }

// BenchmarkWinograd times the CAPTCHA models' 3x3 and 5x5 layers and
// mnist-cnn2's second layer (batch 16) computed directly and with
// Winograd's F(2x2, 3x3) or F(2x2, 5x5); run with -count to alternate.
func BenchmarkWinograd(b *testing.B) {
	for _, l := range []struct {
		name          string
		c, h, w, o, k int
		pad           Padding
	}{
		{"32x48x128", 32, 50, 130, 32, 3, Valid},
		{"64x22x62", 64, 24, 64, 64, 3, Valid},
		{"64-128x11x31", 64, 11, 31, 128, 3, Same},
		{"128x9x29", 128, 11, 31, 128, 3, Valid},
		{"128x4x14", 128, 4, 14, 128, 3, Same},
		{"128-256x2x12", 128, 4, 14, 256, 3, Valid},
		{"5x5/32-64x24x64", 32, 24, 64, 64, 5, Same},
		{"5x5/16-36x14x14", 16, 14, 14, 36, 5, Same},
	} {
		for _, a := range []struct {
			name string
			algo convAlgo
		}{{"direct", algoDirect}, {"winograd", algoWinograd}} {
			b.Run(l.name+"/"+a.name, func(b *testing.B) { benchConvAlgo(b, winoBenchBatch, l.c, l.h, l.w, l.o, l.k, l.pad, a.algo) })
		}
	}
}

// cpuTime returns the CPU time the process has used, user and system. On a
// machine shared with other work it measures an op better than the wall
// clock: it counts only the time the op's threads ran.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPool2 times 2x2 max pooling of cnn2's and captcha's planes with
// the Go function and each kernel set.
func BenchmarkPool2(b *testing.B) {
	for _, hw := range [][3]int{{28, 28, 16}, {14, 14, 36}, {48, 128, 32}} {
		h, w, planes := hw[0], hw[1], 64*hw[2]
		if h > 28 {
			planes = 4 * hw[2]
		}
		x := randSlice(rand.New(rand.NewPCG(1, 1)), planes*h*w)
		ho, wo := h/2, w/2
		y, am := make([]float32, planes*ho*wo), make([]int32, planes*ho*wo)
		for _, ks := range kernelSets {
			b.Run(fmt.Sprintf("%dx%d/%s", h, w, ks.name), func(b *testing.B) {
				for b.Loop() {
					for p := 0; p < planes; p++ {
						ks.pool2Plane(x[p*h*w:(p+1)*h*w], w, w, ho, wo, y[p*ho*wo:(p+1)*ho*wo], am[p*ho*wo:(p+1)*ho*wo])
					}
				}
			})
		}
	}
}

// winoBenchBatch is BenchmarkWinograd's batch.
var winoBenchBatch = 16
