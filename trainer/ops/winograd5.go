package ops

// Winograd's F(2x2, 5x5) for stride-1 5x5 convolutions, from the points 0,
// 1, -1, 2, -2 and infinity. Each 2x2 output tile comes from the 6x6 input
// patch d under it as Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A: 36 products per
// tile, input channel and filter instead of the direct convolution's 100.
// winoConv runs it with the same blocks, segments and matrix products as
// F(2x2, 3x3); only the transforms below differ.
//
//	B^T = [4 0 -5 0 1 0; 0 4 4 -1 -1 0; 0 -4 4 1 -1 0;
//	       0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 1]
//	G   = winoG5
//
// The input and output transforms multiply by 2, 4 and 5 only, in the
// AVX-512 routines (winograd5_amd64.s) in the order the Go functions below
// use, so that both give the same bits; the filter transform and its
// gradient are computed once per pass in float64.

// winoG5 is G (6x5), which carries the fractions of the interpolation.
var winoG5 = [6][5]float64{
	{1.0 / 4, 0, 0, 0, 0},
	{1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6},
	{1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3},
	{1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3},
	{0, 0, 0, 0, 1},
}

// winoGo5 is the portable reference implementation of F(2x2, 5x5).
var winoGo5 = &winoKernels{name: "generic", r: 5, in: winoIn5Go, out: winoOut5Go, dy: winoDy5Go, mm64: mmGo(64), mm16: mmGo(16)}

// filters5 writes U_ξ = G g G^T of filters [lo, hi) of g (n filters of
// 5x5) at u[ξ*n+i].
func filters5(g, u []float32, n, lo, hi int) {
	for i := lo; i < hi; i++ {
		f := g[i*25 : i*25+25 : i*25+25]
		// t = G g (6x5), then U = t G^T.
		var t [6][5]float64
		for r := 0; r < 6; r++ {
			for q := 0; q < 5; q++ {
				var s float64
				for k := 0; k < 5; k++ {
					s += winoG5[r][k] * float64(f[5*k+q])
				}
				t[r][q] = s
			}
		}
		for r := 0; r < 6; r++ {
			for q := 0; q < 6; q++ {
				var s float64
				for k := 0; k < 5; k++ {
					s += t[r][k] * winoG5[q][k]
				}
				u[(6*r+q)*n+i] = float32(s)
			}
		}
	}
}

// filterGrads5 writes dg = G^T dU G for filters [lo, hi) of c channels,
// where dU_ξ of channel ch and filter o is du[ξ*st+ch*o16+o].
func filterGrads5(du []float32, st, c, o16 int, dg []float32, lo, hi int) {
	for o := lo; o < hi; o++ {
		for ch := 0; ch < c; ch++ {
			// t = G^T dU (5x6), then dg = t G.
			var t [5][6]float64
			for k := 0; k < 5; k++ {
				for q := 0; q < 6; q++ {
					var s float64
					for r := 0; r < 6; r++ {
						s += winoG5[r][k] * float64(du[(6*r+q)*st+ch*o16+o])
					}
					t[k][q] = s
				}
			}
			f := dg[(o*c+ch)*25 : (o*c+ch)*25+25 : (o*c+ch)*25+25]
			for k := 0; k < 5; k++ {
				for l := 0; l < 5; l++ {
					var s float64
					for q := 0; q < 6; q++ {
						s += t[k][q] * winoG5[q][l]
					}
					f[5*k+l] = float32(s)
				}
			}
		}
	}
}

// winoBT5 applies B^T to one row or column of a 6x6 patch. The explicit
// conversions round each product as the AVX-512 routine does, instead of
// letting the compiler fuse it into the next addition.
func winoBT5(d *[6]float32) [6]float32 {
	p, q := d[3]-d[1], d[4]-d[2]
	p2 := p + p
	return [6]float32{
		float32(4*d[0]) + d[4] - float32(5*d[2]),
		float32(4*(d[1]+d[2])) - (d[3] + d[4]),
		float32(4*(d[2]-d[1])) + (d[3] - d[4]),
		p2 + q,
		q - p2,
		float32(4*d[1]) + d[5] - float32(5*d[3]),
	}
}

// winoAT5 applies A^T to one row or column of six products.
func winoAT5(m *[6]float32) (s0, s1 float32) {
	s0 = m[0] + m[1] + m[2] + m[3] + m[4]
	b := m[3] - m[4]
	s1 = (m[1] - m[2]) + (b + b) + m[5]
	return s0, s1
}

func winoIn5Go(src []float32, pitch, plane, nc int, dst []float32, cstride, xstride int) {
	for ch := 0; ch < nc; ch++ {
		s := src[ch*plane:]
		for t := 0; t < winoLane; t++ {
			// h = d B row by row, then V = B^T h column by column.
			var h [6][6]float32
			for r := 0; r < 6; r++ {
				d := [6]float32(s[r*pitch+2*t : r*pitch+2*t+6])
				h[r] = winoBT5(&d)
			}
			for q := 0; q < 6; q++ {
				col := [6]float32{h[0][q], h[1][q], h[2][q], h[3][q], h[4][q], h[5][q]}
				v := winoBT5(&col)
				for i := 0; i < 6; i++ {
					dst[(6*i+q)*xstride+ch*cstride+t] = v[i]
				}
			}
		}
	}
}

func winoOut5Go(m []float32, xstride, ostride, no int, y []float32, yplane, pitch, rows, cols int, bias []float32, relu bool) {
	for o := 0; o < no; o++ {
		for x := 0; x < cols; x++ {
			t := x / 2
			// s = A^T M column by column (2x6), then Y = s A row by row.
			var s [2][6]float32
			for q := 0; q < 6; q++ {
				var col [6]float32
				for i := range col {
					col[i] = m[(6*i+q)*xstride+o*ostride+t]
				}
				s[0][q], s[1][q] = winoAT5(&col)
			}
			for r := 0; r < rows; r++ {
				y0, y1 := winoAT5(&s[r])
				v := y0
				if x%2 == 1 {
					v = y1
				}
				y[o*yplane+r*pitch+x] = winoFinish(v, bias, o, relu)
			}
		}
	}
}

func winoDy5Go(src []float32, rp, cnt, o16 int, dst []float32, xstride int, db []float32) {
	for t := 0; t < cnt; t++ {
		for o := 0; o < o16; o++ {
			p := 2*t*o16 + o
			y00, y01, y10, y11 := src[p], src[p+o16], src[p+rp], src[p+rp+o16]
			db[o] += (y00 + y01) + (y10 + y11)
			// R = A dY (6x2), then dM = R A^T (6x6).
			d10, d11 := y10+y10, y11+y11
			r := [6][2]float32{{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11},
				{y00 + d10, y01 + d11}, {y00 - d10, y01 - d11}, {y10, y11}}
			for i := 0; i < 6; i++ {
				a, b := r[i][0], r[i][1]
				b2 := b + b
				row := [6]float32{a, a + b, a - b, a + b2, a - b2, b}
				for j, v := range row {
					dst[(6*i+j)*xstride+t*o16+o] = v
				}
			}
		}
	}
}
