package ops

import (
	"bytes"
	"unsafe"
)

// Winograd's minimal filtering F(2x2, 3x3) for stride-1 3x3 convolutions
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016). Each 2x2 block of output pixels (a tile) is computed from the 4x4
// input patch d under it as
//
//	Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// so that, summed over input channels, the 36 multiply-adds per tile,
// input channel and filter of the direct convolution become 16: one matrix
// product U_ξ (o x c) * V_ξ (c x tiles) for each of the 16 positions ξ of the
// 4x4 transformed domain, done by the AVX-512 SGEMM kernels. The input
// transform B^T d B and the output transform A^T M A only add and subtract;
// the filter transform G g G^T multiplies by one half. With AVX-512 the
// transforms are assembly routines vectorised over 16 tiles of a tile row
// (winograd_amd64.s); the Go functions below are their reference.
//
// The weight gradient follows from the same factorisation: with
// dM = A dY A^T (dY a tile of the output gradient), dU_ξ = dM_ξ * V_ξ^T
// summed over the tiles of the batch, and dg = G^T dU G.
//
// Tiles are numbered densely across the samples of the batch and computed in
// blocks of at most tb tiles: a block's V holds tbs floats per row (tb plus
// slack for the 16-lane stores of the last segment), so a block fills the
// matrix kernels' 64-column panels even when the feature maps are small.

// Transform matrices (F(2x2, 3x3)):
//
//	B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//	A^T = [1 1 1 0; 0 1 -1 -1]
//
// F(2x2, 5x5) computes each 2x2 tile from a 6x6 patch with 36 products
// instead of 100, with the same blocks, segments and products (its
// transforms are in winograd5.go).

const winoLane = 16 // tiles per segment: the AVX-512 width

// winoUse reports whether a stride-1 convolution of this geometry (a batch
// of n, c to o channels, kh x kw filters, ho x wo output) runs with
// Winograd's F(2x2, 3x3) or F(2x2, 5x5) on these kernels. The rule depends
// only on the shape and the CPU's features, never on timings, so that a
// model computes the same numbers on every run on the same machine. With
// few channels the transforms cost more than the multiplies they save (the
// layers that read the one- or three-channel input image keep the direct
// convolution). The products of both are computed in 64-column panels:
// Winograd's 16 or 36 per 2x2 tile over the batch's tiles, the direct
// convolution's 9 or 25 per grid position over each sample's grid (its
// rows are kw-1 wider than the output); Winograd is chosen when its panels,
// with a quarter more for its transforms, cost less. That keeps the small
// late layers of a one-image model, whose few tiles fill a fraction of one
// panel, on the direct convolution.
func winoUse(ks *kernels, n, c, o, kh, kw, ho, wo int) bool {
	least := winoMinChannels
	if kh == 5 {
		least = winoMinChannels5
	}
	if ks.kind != kindAVX512 || !winoFilter(kh, kw) || c < least || o < least {
		return false
	}
	panels := func(v int) int { return (v + panelW - 1) / panelW }
	a := kh + 1
	wino := a * a * panels(n*((ho+1)/2)*((wo+1)/2))
	direct := kh * kw * n * panels(ho*(wo+kw-1))
	return 5*wino < 4*direct
}

// winoFilter reports whether winoConv computes kh x kw filters: 3x3 with
// F(2x2, 3x3) or 5x5 with F(2x2, 5x5).
func winoFilter(kh, kw int) bool { return kh == kw && (kh == 3 || kh == 5) }

// winoMinChannels and winoMinChannels5 are the fewest input and output
// channels for which Winograd's F(2x2, 3x3) and F(2x2, 5x5) beat the direct
// convolution (BenchmarkWinograd). F(2x2, 5x5)'s transforms cost more: on
// mnist-cnn2's 16 to 36 channels it is no faster forward and twice as slow
// for the weight gradient, on the CAPTCHA models' 32 to 64 about twice as
// fast.
const (
	winoMinChannels  = 16
	winoMinChannels5 = 32
)

// winoSeg is a run of at most 16 consecutive tiles of one tile row of one
// sample, and where its tiles start in the block (column j).
type winoSeg struct{ n, ty, tx0, cnt, j int }

// winoConv is one stride-1 r x r convolution of a batch computed with
// F(2x2, r x r), r = 3 or 5: input (n, c, h, w), o filters, output (n, o,
// ho, wo).
type winoConv struct {
	n, c, h, w int
	o          int
	r, a, xi   int // filter size, transformed tile size r+1, its a*a positions
	padT, padL int
	ho, wo     int
	th, tw     int        // tiles per column and row of one sample
	hp, pitch  int        // rows and row pitch of the zero-padded input
	plane      int        // floats per padded channel
	cpad, o16  int        // c rounded up to 6, o rounded up to 16
	tbs        int        // row stride of V and M: a block's most tiles and slack
	tiles      winoTiling // the batch's tiles in blocks
	u          []float32
	// ukey holds the filters u was computed from, bit for bit: a model
	// that reads images with unchanged weights (validation, evaluation,
	// one image at a time) transforms them once, not on every pass.
	ukey    []float32
	k       *winoKernels
	scratch []winoScratch
}

// winoScratch is one worker's buffers.
type winoScratch struct {
	xpad []float32 // one zero-padded sample; borders and slack stay zero
	xn   int       // the sample xpad holds, or -1
	v, m []float32 // transformed input (xi, cpad, tbs) and products (xi, o, tbs)
	dyT  []float32 // one sample's output gradient (2th, 2tw, o16), zero outside
	dn   int       // the sample dyT holds, or -1
	dmt  []float32 // transformed output gradient (xi, tb, o16)
	dut  []float32 // weight gradient in the transformed domain (xi, cpad, o16)
	db   []float32 // bias gradient of the worker's tiles (o16)
}

func newWinoConv(k *winoKernels, n, c, h, w, o, padT, padL, ho, wo int) *winoConv {
	wc := &winoConv{n: n, c: c, h: h, w: w, o: o, padT: padT, padL: padL, ho: ho, wo: wo, k: k}
	wc.r, wc.a = k.r, k.r+1
	wc.xi = wc.a * wc.a
	wc.th, wc.tw = (ho+1)/2, (wo+1)/2
	wc.hp = 2*wc.th + wc.r - 1
	wc.pitch = 2*wc.tw + wc.r - 1
	// A segment reads xpadSlack floats from its first column: slack after
	// the last row keeps the reads of the last segment inside the buffer.
	wc.plane = wc.hp * wc.pitch
	wc.cpad = (c + tileM - 1) / tileM * tileM
	wc.o16 = (o + 15) / 16 * 16
	// A block's V and M take 4*xi*(c+o)*tb bytes: keep them within 256
	// KiB so that they stay in L2 beside the filters (measured: larger
	// blocks are no faster).
	tb := max(panelW, min(4*panelW, (1<<16)/(wc.xi*(c+o))/panelW*panelW))
	wc.tbs = tb + winoLane
	wc.tiles = wc.tiling(tb)
	return wc
}

// mStride and dmStride are the floats from one position ξ of the products
// M and of the transformed output gradient to the next. The extra 64 bytes
// keep the transforms' 16 or 36 accesses, one per position, out of one
// cache set: without them the stride is often a multiple of 4 KiB (with 64
// filters, say), and the output-gradient transform of F(2x2, 5x5) took
// five times as long.
func (wc *winoConv) mStride() int  { return wc.o*wc.tbs + 16 }
func (wc *winoConv) dmStride() int { return wc.tiles.tb*wc.o16 + 16 }

// winoTiling is the batch's tiles in blocks of at most tb tiles.
type winoTiling struct {
	tb     int
	segs   []winoSeg
	blocks []int // block b holds segs[blocks[b]:blocks[b+1]]
}

func (wc *winoConv) tiling(tb int) winoTiling {
	t := winoTiling{tb: tb, blocks: []int{0}}
	used := 0
	for s := 0; s < wc.n; s++ {
		for ty := 0; ty < wc.th; ty++ {
			for tx0 := 0; tx0 < wc.tw; tx0 += winoLane {
				cnt := min(winoLane, wc.tw-tx0)
				if used+cnt > tb {
					t.blocks = append(t.blocks, len(t.segs))
					used = 0
				}
				t.segs = append(t.segs, winoSeg{n: s, ty: ty, tx0: tx0, cnt: cnt, j: used})
				used += cnt
			}
		}
	}
	t.blocks = append(t.blocks, len(t.segs))
	return t
}

func (t *winoTiling) block(b int) []winoSeg { return t.segs[t.blocks[b]:t.blocks[b+1]] }

func (wc *winoConv) workerScratch() []winoScratch {
	if w := workers(); len(wc.scratch) != w {
		wc.scratch = make([]winoScratch, w)
		for i := range wc.scratch {
			wc.scratch[i].xpad = make([]float32, wc.c*wc.plane+wc.xpadSlack())
			wc.scratch[i].v = make([]float32, wc.xi*wc.cpad*wc.tbs)
		}
	}
	for i := range wc.scratch {
		wc.scratch[i].xn, wc.scratch[i].dn = -1, -1
	}
	return wc.scratch
}

// xpadSlack is how many floats from its first column the input transform
// of a segment reads: a columns of each of 16 tiles two apart.
func (wc *winoConv) xpadSlack() int { return 2*winoLane + wc.a - 2 }

// pad copies sample x (c, h, w) into the interior of xpad.
func (wc *winoConv) pad(x, xpad []float32) {
	ixLo := max(0, -wc.padL)
	ixHi := min(wc.w, wc.pitch-wc.padL)
	for ch := 0; ch < wc.c; ch++ {
		xc := x[ch*wc.h*wc.w : (ch+1)*wc.h*wc.w]
		pc := xpad[ch*wc.plane : (ch+1)*wc.plane]
		for iy := 0; iy < wc.h; iy++ {
			py := iy + wc.padT
			if py < 0 || py >= wc.hp || ixHi <= ixLo {
				continue
			}
			copy(pc[py*wc.pitch+wc.padL+ixLo:py*wc.pitch+wc.padL+ixHi], xc[iy*wc.w+ixLo:iy*wc.w+ixHi])
		}
	}
}

// filters writes U (xi, o, c) = G g G^T for filters g (o, c, r, r), unless
// U already holds the transform of filters with the same bits.
func (wc *winoConv) filters(g []float32) {
	n := wc.o * wc.c
	g = g[:wc.r*wc.r*n]
	if len(wc.u) == wc.xi*n && sameBits(wc.ukey, g) {
		return
	}
	defer func() { wc.ukey = append(wc.ukey[:0], g...) }()
	wc.u = grow(wc.u, wc.xi*n)
	u := wc.u
	if wc.r == 5 {
		parallelFor(n, workers(), func(_, lo, hi int) { filters5(g, u, n, lo, hi) })
		return
	}
	parallelFor(n, workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			f := g[i*9 : i*9+9 : i*9+9]
			// Gg (4x3), row by row.
			var t [4][3]float32
			for x := 0; x < 3; x++ {
				a, b, c := f[x], f[3+x], f[6+x]
				t[0][x] = a
				t[1][x] = 0.5 * (a + b + c)
				t[2][x] = 0.5 * (a - b + c)
				t[3][x] = c
			}
			for r := 0; r < 4; r++ {
				a, b, c := t[r][0], t[r][1], t[r][2]
				u[(4*r+0)*n+i] = a
				u[(4*r+1)*n+i] = 0.5 * (a + b + c)
				u[(4*r+2)*n+i] = 0.5 * (a - b + c)
				u[(4*r+3)*n+i] = c
			}
		}
	})
}

// forward computes y (n, o, ho, wo) = conv(x, g) + bias (bias may be nil),
// with a ReLU when relu is set, for the whole batch x (n, c, h, w).
//
// With known set the filters are those of the last call (Mode.Infer's
// promise) and their transform is reused without comparing them.
func (wc *winoConv) forward(x, g, bias []float32, relu, known bool, y []float32) {
	if !known || len(wc.u) == 0 {
		wc.filters(g)
	}
	scr := wc.workerScratch()
	nb := len(wc.tiles.blocks) - 1
	parallelFor(nb, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		s.m = grow(s.m, wc.xi*wc.mStride())
		for b := lo; b < hi; b++ {
			wc.forwardBlock(x, bias, relu, y, s, b)
		}
	})
}

// transformBlock writes V for the tiles of block b.
func (wc *winoConv) transformBlock(x []float32, s *winoScratch, b int) int {
	chw := wc.c * wc.h * wc.w
	cnt := 0
	for _, sg := range wc.tiles.block(b) {
		if s.xn != sg.n {
			wc.pad(x[sg.n*chw:(sg.n+1)*chw], s.xpad)
			s.xn = sg.n
		}
		wc.k.in(s.xpad[2*sg.ty*wc.pitch+2*sg.tx0:], wc.pitch, wc.plane, wc.c, s.v[sg.j:], wc.tbs, wc.cpad*wc.tbs)
		cnt = sg.j + sg.cnt
	}
	return cnt
}

func (wc *winoConv) forwardBlock(x, bias []float32, relu bool, y []float32, s *winoScratch, b int) {
	cnt := wc.transformBlock(x, s, b)
	// M_ξ (o x cnt) = U_ξ (o x c) * V_ξ (c x cnt), in 6 x 64 tiles; the last
	// row block overlaps the one before, the last panel reads and writes the
	// slack columns.
	oc := wc.o * wc.c
	for xi := 0; xi < wc.xi; xi++ {
		u := wc.u[xi*oc:]
		v := s.v[xi*wc.cpad*wc.tbs:]
		m := s.m[xi*wc.mStride():]
		for j0 := 0; j0 < cnt; j0 += panelW {
			for i0 := 0; i0 < wc.o; i0 += tileM {
				i0 = min(i0, wc.o-tileM)
				wc.k.mm64(wc.c, u[i0*wc.c:], wc.c, 1, v[j0:], wc.tbs, m[i0*wc.tbs+j0:], wc.tbs, false)
			}
		}
	}
	pix := wc.ho * wc.wo
	for _, sg := range wc.tiles.block(b) {
		rows := min(2, wc.ho-2*sg.ty)
		cols := min(2*sg.cnt, wc.wo-2*sg.tx0)
		wc.k.out(s.m[sg.j:], wc.mStride(), wc.tbs, wc.o, y[sg.n*wc.o*pix+2*sg.ty*wc.wo+2*sg.tx0:], pix, wc.wo, rows, cols, bias, relu)
	}
}

// gradW computes the filter gradient dg (o, c, r, r) and the bias gradient
// db (o) of the batch from its input x and the output gradient dy.
func (wc *winoConv) gradW(x, dy, dg, db []float32) {
	scr := wc.workerScratch()
	nb := len(wc.tiles.blocks) - 1
	used, _ := numRanges(nb, len(scr))
	pix := wc.ho * wc.wo
	parallelFor(nb, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		if len(s.dyT) != 4*wc.th*wc.tw*wc.o16 {
			s.dyT = make([]float32, 4*wc.th*wc.tw*wc.o16)
		}
		s.dmt = grow(s.dmt, wc.xi*wc.dmStride())
		s.dut = grow(s.dut, wc.xi*wc.cpad*wc.o16)
		clear(s.dut)
		s.db = grow(s.db, wc.o16)
		clear(s.db)
		for b := lo; b < hi; b++ {
			cnt := wc.transformBlock(x, s, b)
			for _, sg := range wc.tiles.block(b) {
				if s.dn != sg.n {
					dyn := dy[sg.n*wc.o*pix : (sg.n+1)*wc.o*pix]
					wc.transposeDy(dyn, s.dyT)
					s.dn = sg.n
				}
				rp := 2 * wc.tw * wc.o16
				wc.k.dy(s.dyT[2*sg.ty*rp+2*sg.tx0*wc.o16:], rp, sg.cnt, wc.o16, s.dmt[sg.j*wc.o16:], wc.dmStride(), s.db)
			}
			// dU_ξ^T (cpad x o16) += V_ξ (cpad x cnt) * dM_ξ^T (cnt x o16).
			for xi := 0; xi < wc.xi; xi++ {
				v := s.v[xi*wc.cpad*wc.tbs:]
				dm := s.dmt[xi*wc.dmStride():]
				du := s.dut[xi*wc.cpad*wc.o16:]
				for i0 := 0; i0 < wc.cpad; i0 += tileM {
					q := 0
					for ; q+panelW <= wc.o16; q += panelW {
						wc.k.mm64(cnt, v[i0*wc.tbs:], wc.tbs, 1, dm[q:], wc.o16, du[i0*wc.o16+q:], wc.o16, true)
					}
					for ; q < wc.o16; q += 16 {
						wc.k.mm16(cnt, v[i0*wc.tbs:], wc.tbs, 1, dm[q:], wc.o16, du[i0*wc.o16+q:], wc.o16, true)
					}
				}
			}
		}
	})
	du := scr[0].dut
	copy(db, scr[0].db[:wc.o])
	for wi := 1; wi < used; wi++ {
		for i, v := range scr[wi].dut {
			du[i] += v
		}
		for o := range db {
			db[o] += scr[wi].db[o]
		}
	}
	// dg = G^T dU G for each filter and channel.
	st := wc.cpad * wc.o16
	parallelFor(wc.o, len(scr), func(_, lo, hi int) {
		if wc.r == 5 {
			filterGrads5(du, st, wc.c, wc.o16, dg, lo, hi)
			return
		}
		wc.filterGrads(du, st, dg, lo, hi)
	})
}

// filterGrads writes dg = G^T dU G of F(2x2, 3x3) for filters [lo, hi), where dU_ξ of
// channel c and filter o is du[ξ*st+c*o16+o].
func (wc *winoConv) filterGrads(du []float32, st int, dg []float32, lo, hi int) {
	for o := lo; o < hi; o++ {
		for c := 0; c < wc.c; c++ {
			var d [4][4]float32
			for xi := 0; xi < 16; xi++ {
				d[xi/4][xi%4] = du[xi*st+c*wc.o16+o]
			}
			var t [3][4]float32
			for j := 0; j < 4; j++ {
				t[0][j] = d[0][j] + 0.5*(d[1][j]+d[2][j])
				t[1][j] = 0.5 * (d[1][j] - d[2][j])
				t[2][j] = 0.5*(d[1][j]+d[2][j]) + d[3][j]
			}
			f := dg[(o*wc.c+c)*9 : (o*wc.c+c)*9+9 : (o*wc.c+c)*9+9]
			for i := 0; i < 3; i++ {
				f[3*i+0] = t[i][0] + 0.5*(t[i][1]+t[i][2])
				f[3*i+1] = 0.5 * (t[i][1] - t[i][2])
				f[3*i+2] = 0.5*(t[i][1]+t[i][2]) + t[i][3]
			}
		}
	}
}

// transposeDy writes one sample's output gradient dy (o, ho, wo) into dst
// (2th, 2tw, o16), channels last; positions outside the output and channels
// beyond o are never written (dst is allocated zeroed). With AVX-512 it
// transposes 16 channels at a time, a whole plane at once when the output's
// rows are as long as dst's (even wo), else row by row.
func (wc *winoConv) transposeDy(dy, dst []float32) {
	pix := wc.ho * wc.wo
	o16 := wc.o16
	if tr := wc.k.transpose; tr != nil {
		rp := 2 * wc.tw
		for o := 0; o < wc.o; o += 16 {
			nch := min(16, wc.o-o)
			if rp == wc.wo {
				tr(dy[o*pix:], pix, dst[o:], pix, nch, o16)
				continue
			}
			for oy := 0; oy < wc.ho; oy++ {
				tr(dy[o*pix+oy*wc.wo:], pix, dst[oy*rp*o16+o:], wc.wo, nch, o16)
			}
		}
		return
	}
	o := 0
	for ; o+8 <= wc.o; o += 8 {
		s0, s1 := dy[o*pix:(o+1)*pix], dy[(o+1)*pix:(o+2)*pix]
		s2, s3 := dy[(o+2)*pix:(o+3)*pix], dy[(o+3)*pix:(o+4)*pix]
		s4, s5 := dy[(o+4)*pix:(o+5)*pix], dy[(o+5)*pix:(o+6)*pix]
		s6, s7 := dy[(o+6)*pix:(o+7)*pix], dy[(o+7)*pix:(o+8)*pix]
		for oy := 0; oy < wc.ho; oy++ {
			row := dst[oy*2*wc.tw*o16:]
			for ox := 0; ox < wc.wo; ox++ {
				p := oy*wc.wo + ox
				d := row[ox*o16+o : ox*o16+o+8 : ox*o16+o+8]
				d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
				d[4], d[5], d[6], d[7] = s4[p], s5[p], s6[p], s7[p]
			}
		}
	}
	for ; o < wc.o; o++ {
		so := dy[o*pix : (o+1)*pix]
		for oy := 0; oy < wc.ho; oy++ {
			for ox := 0; ox < wc.wo; ox++ {
				dst[(oy*2*wc.tw+ox)*o16+o] = so[oy*wc.wo+ox]
			}
		}
	}
}

// winoKernels is one implementation of the transforms of F(2x2, r x r) and
// of the 6x64 and 6x16 products with B's rows bs floats apart. Strides are
// in floats. The comments below are for r = 3 (4x4 patches, 16 positions
// ξ); with r = 5 the patches are 6x6 and there are 36 positions.
type winoKernels struct {
	name string
	r    int
	// in transforms 16 tiles of nc channels: channel ch's 4 input rows
	// start at src[ch*plane:], pitch apart; V_ξ of tile t of channel ch
	// goes to dst[ξ*xstride+ch*cstride+t].
	in func(src []float32, pitch, plane, nc int, dst []float32, cstride, xstride int)
	// out transforms 16 tiles of no filters: M_ξ of tile t of filter o is
	// m[ξ*xstride+o*ostride+t]; it writes rows (1 or 2) rows of cols
	// output columns of filter o at y[o*yplane:], pitch apart, adding
	// bias[o] (when bias is not nil) and applying a ReLU.
	out func(m []float32, xstride, ostride, no int, y []float32, yplane, pitch, rows, cols int, bias []float32, relu bool)
	// dy transforms cnt tiles of the output gradient, channels last: the
	// tile t's 2x2 pixels of o16 channels are at src[2t*o16:] and one row
	// (rp floats) below; dM_ξ of tile t goes to dst[ξ*xstride+t*o16:]. It
	// adds each tile's pixels, (y00+y01)+(y10+y11), to db[o], the bias
	// gradient.
	dy func(src []float32, rp, cnt, o16 int, dst []float32, xstride int, db []float32)
	// mm64 and mm16 compute C[6 x 64] and C[6 x 16] (+)= A[6 x k] * B[k x
	// 64 or 16] with A[i,kk] = a[i*rsA+kk*csA], B[kk,j] = b[kk*bs+j],
	// C[i,j] = c[i*ldc+j].
	mm64, mm16 func(k int, a []float32, rsA, csA int, b []float32, bs int, c []float32, ldc int, acc bool)
	// transpose, when not nil, writes dst[p*ds+o] = src[o*pix+p] for p < n
	// and o < nch (at most 16); it is nil where the CPU lacks the
	// instructions.
	transpose func(src []float32, pix int, dst []float32, n, nch, ds int) bool
}

// winoGo is the portable reference implementation.
var winoGo = &winoKernels{name: "generic", r: 3, in: winoInGo, out: winoOutGo, dy: winoDyGo, mm64: mmGo(64), mm16: mmGo(16)}

func winoInGo(src []float32, pitch, plane, nc int, dst []float32, cstride, xstride int) {
	for ch := 0; ch < nc; ch++ {
		s := src[ch*plane:]
		for t := 0; t < winoLane; t++ {
			var d [4][4]float32
			for r := 0; r < 4; r++ {
				for q := 0; q < 4; q++ {
					d[r][q] = s[r*pitch+2*t+q]
				}
			}
			// h = d B, then V = B^T h.
			var h [4][4]float32
			for r := 0; r < 4; r++ {
				h[r][0] = d[r][0] - d[r][2]
				h[r][1] = d[r][1] + d[r][2]
				h[r][2] = d[r][2] - d[r][1]
				h[r][3] = d[r][1] - d[r][3]
			}
			for q := 0; q < 4; q++ {
				o := ch*cstride + t
				dst[(0+q)*xstride+o] = h[0][q] - h[2][q]
				dst[(4+q)*xstride+o] = h[1][q] + h[2][q]
				dst[(8+q)*xstride+o] = h[2][q] - h[1][q]
				dst[(12+q)*xstride+o] = h[1][q] - h[3][q]
			}
		}
	}
}

func winoOutGo(m []float32, xstride, ostride, no int, y []float32, yplane, pitch, rows, cols int, bias []float32, relu bool) {
	for o := 0; o < no; o++ {
		for x := 0; x < cols; x++ {
			t := x / 2
			var s [2][4]float32
			for q := 0; q < 4; q++ {
				at := func(i int) float32 { return m[(4*i+q)*xstride+o*ostride+t] }
				s[0][q] = at(0) + at(1) + at(2)
				s[1][q] = at(1) - at(2) - at(3)
			}
			for r := 0; r < rows; r++ {
				v := s[r][1] - s[r][2] - s[r][3]
				if x%2 == 0 {
					v = s[r][0] + s[r][1] + s[r][2]
				}
				y[o*yplane+r*pitch+x] = winoFinish(v, bias, o, relu)
			}
		}
	}
}

// winoFinish adds filter o's bias (when there is one) to an output of the
// output transform and applies the ReLU, as the AVX-512 routines do.
func winoFinish(v float32, bias []float32, o int, relu bool) float32 {
	if bias != nil {
		v += bias[o]
	}
	if relu {
		v = max(v, 0)
	}
	return v
}

func winoDyGo(src []float32, rp, cnt, o16 int, dst []float32, xstride int, db []float32) {
	for t := 0; t < cnt; t++ {
		for o := 0; o < o16; o++ {
			p := 2*t*o16 + o
			y00, y01, y10, y11 := src[p], src[p+o16], src[p+rp], src[p+rp+o16]
			db[o] += (y00 + y01) + (y10 + y11)
			// R = A dY (4x2), then dM = R A^T (4x4).
			r := [4][2]float32{{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}}
			for i := 0; i < 4; i++ {
				a, b := r[i][0], r[i][1]
				dst[(4*i+0)*xstride+t*o16+o] = a
				dst[(4*i+1)*xstride+t*o16+o] = a + b
				dst[(4*i+2)*xstride+t*o16+o] = a - b
				dst[(4*i+3)*xstride+t*o16+o] = -b
			}
		}
	}
}

func mmGo(nr int) func(k int, a []float32, rsA, csA int, b []float32, bs int, c []float32, ldc int, acc bool) {
	return func(k int, a []float32, rsA, csA int, b []float32, bs int, c []float32, ldc int, acc bool) {
		for i := 0; i < tileM; i++ {
			for j := 0; j < nr; j++ {
				var s float32
				for kk := 0; kk < k; kk++ {
					s += a[i*rsA+kk*csA] * b[kk*bs+j]
				}
				if acc {
					s += c[i*ldc+j]
				}
				c[i*ldc+j] = s
			}
		}
	}
}

// ptr returns the address of s[0] for the assembly routines, which may
// read and write past len(s) within the buffer's slack.
func ptr(s []float32) *float32 { return unsafe.SliceData(s) }

// sameBits reports whether a and b hold the same float32 bit patterns (NaNs
// and signed zeros included). A training step changes the weights and
// usually their first float, so the comparison ends at once.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 4*len(a)), unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 4*len(b)))
}
