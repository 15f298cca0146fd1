package ops

// gridConv is one stride-1 convolution computed on the padded grid, without
// im2col. Each sample's input is copied into a zero-padded buffer of hp x wp
// floats per channel (hp = ho+kh-1, wp = wo+kw-1), and output pixel (oy, ox)
// is computed at grid position j = oy*wp+ox. Row (c, ky, kx) of the im2col
// matrix is then the contiguous run of padded channel c that starts at
// ky*wp+kx, so the kernel reads B straight from the padded buffer through a
// table of row offsets (k64off), or, without that kernel, a panel is built by
// 64-float copies. The wp-wo extra grid columns of each output row are
// computed and dropped; in exchange there is no im2col and no col2im (the
// input gradient is itself a gridConv of the output gradient with the
// flipped filters).
//
// A small output (at most 16 wide, such as MNIST's 14x14 maps, whose grid
// rows are 18 wide for a 5x5 filter) is computed in rows of 16 instead
// (rows16): each of the kernel's four 16-float runs of B is one output row,
// read where it lies in its sample's padded buffer, and group samples are
// computed together so that their rows fill whole 64-column panels. For 14x14
// that computes 16 columns per output row instead of 18, and two samples'
// 28 rows fill 7 panels where one sample's 252 grid positions took 4.
type gridConv struct {
	c, h, w    int // input
	o, kh, kw  int // filters
	padT, padL int // zeros before the first input row and column
	ho, wo     int // output
	hp, wp     int // padded input
	plane      int // floats per padded channel, with slack for the last panel
	ngrid      int // ho*wp grid positions
	npan, ldw  int // 64-column panels of the grid, npan*64
	ckk        int
	offs       []int // byte offsets of im2col row kk in the padded buffer
	// offsW is offs, then the offset of a plane of ones (which xpad keeps
	// after the channels), padded with zeros to a multiple of 6 rows: the
	// weight gradient's A, whose row ckk sums the output gradient into the
	// bias gradient.
	offsW     []int
	rowBlocks []rowBlock // the filters in the forward kernel's blocks (filterBlocks)
	scratch   []gridScratch
	// rows16 computes the output in rows of 16, group samples at a time:
	// output row oy of the group's sample i is at wide column (i*ho+oy)*16.
	// Otherwise group is 1 and row oy is at column oy*wp. rs is that row
	// stride (16 or wp), slot the floats of one sample's padded input.
	rows16   bool
	group    int
	rs, slot int
}

// gridScratch is one worker's buffers for a gridConv.
type gridScratch struct {
	xpad   []float32 // group slots of (c+1)*plane: borders and slack always zero, then ones
	wide   []float32 // o*ldw output on the grid or in rows of 16
	panel  []float32 // ckk*64, a materialised panel of B
	argmax []int32   // a fused pooling's choices, which evaluation drops
}

// newGridConv lays out the convolution for the kernels ks: rows of 16 where
// ks has the offset kernel and they compute fewer columns than the grid.
func newGridConv(ks *kernels, c, h, w, o, kh, kw, padT, padL, ho, wo int) *gridConv {
	g := &gridConv{c: c, h: h, w: w, o: o, kh: kh, kw: kw, padT: padT, padL: padL, ho: ho, wo: wo}
	g.hp, g.wp = ho+kh-1, wo+kw-1
	g.ngrid = ho * g.wp
	g.npan = (g.ngrid + panelW - 1) / panelW
	g.ldw = g.npan * panelW
	g.plane = max(g.hp*g.wp, (kh-1)*g.wp+kw-1+g.ldw)
	g.group, g.rs = 1, g.wp
	if ks.hasOffKernel() && o >= tileM && wo <= 16 && 16*ho < g.ldw {
		g.rows16 = true
		g.group = 4 / gcd(ho, 4)
		g.rs = 16
		g.ldw = g.group * ho * 16
		// A row of 16 read from the last output row's start.
		g.plane = max(g.plane, (g.hp-1)*g.wp+kw-1+16)
	}
	g.slot = (c + 1) * g.plane
	g.ckk = c * kh * kw
	g.offs = make([]int, g.ckk)
	kk := 0
	for ch := 0; ch < c; ch++ {
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				g.offs[kk] = 4 * (ch*g.plane + ky*g.wp + kx)
				kk++
			}
		}
	}
	g.offsW = make([]int, (g.ckk+1+tileM-1)/tileM*tileM)
	copy(g.offsW, g.offs)
	g.offsW[g.ckk] = 4 * c * g.plane
	if o >= tileM {
		g.rowBlocks = filterBlocks(o)
	}
	return g
}

// rowBlock is rows filters from i0 on, computed in one offset-kernel call.
type rowBlock struct{ i0, rows int }

// filterBlocks splits o filters (at least 6) into blocks of six and, when
// o is even but not a multiple of six, one or two blocks of four at the
// end (16 = 6+6+4, 8 = 4+4). An odd o ends with a block of six that
// overlaps the one before, its shared rows computed twice.
func filterBlocks(o int) []rowBlock {
	var bs []rowBlock
	fours := 0
	switch o % tileM {
	case 4:
		fours = 1
	case 2:
		fours = 2
	}
	i0 := 0
	for ; i0+tileM <= o-4*fours; i0 += tileM {
		bs = append(bs, rowBlock{i0, tileM})
	}
	if fours > 0 {
		for ; i0 < o; i0 += 4 {
			bs = append(bs, rowBlock{i0, 4})
		}
	} else if i0 < o {
		bs = append(bs, rowBlock{o - tileM, tileM})
	}
	return bs
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// workerScratch returns one scratch per worker; xpad (group slots) is
// allocated zeroed once and only its interior is ever written. After the c
// channels each slot holds a plane of ones (offsW's last row).
func (g *gridConv) workerScratch() []gridScratch {
	if w := workers(); len(g.scratch) != w {
		g.scratch = make([]gridScratch, w)
		for i := range g.scratch {
			g.scratch[i].xpad = make([]float32, g.group*g.slot)
			for j := 0; j < g.group; j++ {
				ones := g.scratch[i].xpad[j*g.slot+g.c*g.plane : (j+1)*g.slot]
				for k := range ones {
					ones[k] = 1
				}
			}
		}
	}
	return g.scratch
}

// parallelGroups splits the samples [0, n) over the workers and calls fn
// with the worker's scratch for each group of at most group samples [lo, hi)
// of its range, as forward and forwardPool2 take them.
func (g *gridConv) parallelGroups(n int, fn func(s *gridScratch, lo, hi int)) {
	scr := g.workerScratch()
	parallelFor(n, len(scr), func(wi, lo, hi int) {
		for i := lo; i < hi; i += g.group {
			fn(&scr[wi], i, min(hi, i+g.group))
		}
	})
}

// pad copies one sample x (c, h, w) into the interior of xpad.
func (g *gridConv) pad(x, xpad []float32) {
	ixLo := max(0, -g.padL)
	ixHi := min(g.w, g.wp-g.padL)
	if ixHi <= ixLo {
		return
	}
	for ch := 0; ch < g.c; ch++ {
		xc := x[ch*g.h*g.w : (ch+1)*g.h*g.w]
		pc := xpad[ch*g.plane : (ch+1)*g.plane]
		for iy := 0; iy < g.h; iy++ {
			py := iy + g.padT
			if py < 0 || py >= g.hp {
				continue
			}
			copy(pc[py*g.wp+g.padL+ixLo:py*g.wp+g.padL+ixHi], xc[iy*g.w+ixLo:iy*g.w+ixHi])
		}
	}
}

// buildPanel writes panel p of the im2col matrix (ckk rows of 64 grid
// positions) from the padded buffer.
func (g *gridConv) buildPanel(xpad, panel []float32, p int) {
	j0 := p * panelW
	for kk, off := range g.offs {
		off /= 4
		copy(panel[kk*panelW:(kk+1)*panelW], xpad[off+j0:off+j0+panelW])
	}
}

// forward computes y (o, ho, wo) = wts (o x ckk) * im2col(x) for each of
// the at most group samples in x (c, h, w each), with the epilogue in flags
// (flagRowBias with bias, flagReLU).
func (g *gridConv) forward(ks *kernels, x, wts, bias []float32, flags int, y []float32, s *gridScratch) {
	cnt := g.forwardWide(ks, x, wts, bias, flags, s)
	per := g.o * g.ho * g.wo
	for i := range cnt {
		g.compact(s.wide[i*g.ho*g.rs:], y[i*per:(i+1)*per])
	}
}

// forwardPool2 is forward followed by 2x2 max pooling with stride 2, read
// from the grid output while it is in cache: y is the pooled (o, ho/2,
// wo/2), and the convolution's own output is never written out. argmax,
// when not nil, gets the pooling's choices as MaxPool2D records them
// (indices in the convolution's output plane).
func (g *gridConv) forwardPool2(ks *kernels, x, wts, bias []float32, flags int, y []float32, argmax []int32, s *gridScratch) {
	cnt := g.forwardWide(ks, x, wts, bias, flags, s)
	ho, wo := g.ho/2, g.wo/2
	per := ho * wo
	if argmax == nil {
		if cap(s.argmax) < per {
			s.argmax = make([]int32, per)
		}
	}
	for i := range cnt {
		at := i * g.ho * g.rs
		for o := 0; o < g.o; o++ {
			q := (i*g.o + o) * per
			var am []int32
			if argmax != nil {
				am = argmax[q : q+per]
			} else {
				am = s.argmax[:per:per]
			}
			ks.pool2Plane(s.wide[o*g.ldw+at:(o+1)*g.ldw], g.rs, g.wo, ho, wo, y[q:q+per], am)
		}
	}
}

// forwardWide computes the convolution of the samples in x, at most group
// of them, into s.wide (o x ldw, output row oy of sample i at column
// (i*ho+oy)*rs), and returns how many there were.
func (g *gridConv) forwardWide(ks *kernels, x, wts, bias []float32, flags int, s *gridScratch) int {
	chw := g.c * g.h * g.w
	cnt := len(x) / chw
	if cnt < 1 || cnt > g.group || cnt*chw != len(x) {
		panic("ops: gridConv.forwardWide given a partial sample or more than a group")
	}
	for i := range cnt {
		g.pad(x[i*chw:(i+1)*chw], s.xpad[i*g.slot:])
	}
	s.wide = grow(s.wide, g.o*g.ldw)
	if g.rows16 {
		g.forwardRows16(ks, cnt, wts, bias, flags, s)
		return cnt
	}
	if ks.hasOffKernel() && g.o >= tileM {
		for p := 0; p < g.npan; p++ {
			b := s.xpad[p*panelW:]
			for _, rb := range g.rowBlocks {
				var bi []float32
				if flags&flagRowBias != 0 {
					bi = bias[rb.i0 : rb.i0+rb.rows]
				}
				ks.k64off(rb.rows, g.ckk, wts[rb.i0*g.ckk:], g.ckk, b, g.offs, s.wide[rb.i0*g.ldw+p*panelW:], g.ldw, bi, flags)
			}
		}
	} else {
		s.panel = grow(s.panel, g.ckk*panelW)
		nrb := (g.o + tileM - 1) / tileM
		for p := 0; p < g.npan; p++ {
			g.buildPanel(s.xpad, s.panel, p)
			j0 := p * panelW
			ks.gemmPanel(g.o, panelW, g.ckk, wts, g.ckk, 1, s.panel, s.wide[j0:], g.ldw, bias, j0, flags, 0, nrb)
		}
	}
	return 1
}

// forwardRows16 is forwardWide in rows of 16: each panel is four output rows
// of the cnt samples padded in s.xpad, the last row repeated where they run
// out.
func (g *gridConv) forwardRows16(ks *kernels, cnt int, wts, bias []float32, flags int, s *gridScratch) {
	rows := cnt * g.ho
	var b [4][]float32
	for p := 0; p*4 < rows; p++ {
		for i := range b {
			r := min(4*p+i, rows-1)
			smp, oy := r/g.ho, r%g.ho
			b[i] = s.xpad[smp*g.slot+oy*g.wp : (smp+1)*g.slot]
		}
		for _, rb := range g.rowBlocks {
			var bi []float32
			if flags&flagRowBias != 0 {
				bi = bias[rb.i0 : rb.i0+rb.rows]
			}
			ks.k64offRows(rb.rows, g.ckk, wts[rb.i0*g.ckk:], g.ckk, &b, g.offs, s.wide[rb.i0*g.ldw+p*panelW:], g.ldw, bi, flags)
		}
	}
}

// compact copies the valid columns of one sample's output in wide (o rows
// ldw apart, output rows rs apart) into y (o, ho, wo).
func (g *gridConv) compact(wide, y []float32) {
	for o := 0; o < g.o; o++ {
		src := wide[o*g.ldw:]
		dst := y[o*g.ho*g.wo:]
		for oy := 0; oy < g.ho; oy++ {
			copy(dst[oy*g.wo:(oy+1)*g.wo], src[oy*g.rs:oy*g.rs+g.wo])
		}
	}
}

// packDyT writes the output gradient dy (o, ho, wo) of one sample
// transposed into dst in the kernel's packed-B layout: panel q (output
// channels [64q, 64q+64)) holds, for output pixel (oy, ox), 64 floats at
// dst[(q*ngrid+oy*ld+ox)*64:]. With ld = wp the rows are the grid's, and
// those of its extra columns are never written; with ld = wo there are no
// such rows. Channels beyond o are never written either, so dst must be
// allocated zeroed. Reads are strided and writes contiguous: the other way
// round (packB) the scattered stores cost several times more.
func (g *gridConv) packDyT(ks *kernels, dy, dst []float32, ld int) {
	pix := g.ho * g.wo
	for q := 0; q*panelW < g.o; q++ {
		oc := min(panelW, g.o-q*panelW)
		src := dy[q*panelW*pix:]
		pd := dst[q*g.ngrid*panelW:]
		if g.transposeAVX512(ks, src, pd, oc, ld) {
			continue
		}
		o := 0
		// Eight channels at a time: eight source rows walked together.
		for ; o+8 <= oc; o += 8 {
			s0, s1 := src[o*pix:(o+1)*pix], src[(o+1)*pix:(o+2)*pix]
			s2, s3 := src[(o+2)*pix:(o+3)*pix], src[(o+3)*pix:(o+4)*pix]
			s4, s5 := src[(o+4)*pix:(o+5)*pix], src[(o+5)*pix:(o+6)*pix]
			s6, s7 := src[(o+6)*pix:(o+7)*pix], src[(o+7)*pix:(o+8)*pix]
			for oy := 0; oy < g.ho; oy++ {
				for ox := 0; ox < g.wo; ox++ {
					p := oy*g.wo + ox
					j := (oy*ld+ox)*panelW + o
					d := pd[j : j+8 : j+8]
					d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
					d[4], d[5], d[6], d[7] = s4[p], s5[p], s6[p], s7[p]
				}
			}
		}
		for ; o < oc; o++ {
			so := src[o*pix : (o+1)*pix]
			for oy := 0; oy < g.ho; oy++ {
				for ox := 0; ox < g.wo; ox++ {
					pd[(oy*ld+ox)*panelW+o] = so[oy*g.wo+ox]
				}
			}
		}
	}
}

// transposeAVX512 is packDyT's panel of oc channels with the AVX-512
// transposition, 16 channels per call, over the whole plane when ld = wo and
// row by row otherwise; false when ks has none, or for at most 8 channels,
// which packDyT's own loop moves faster than a gather of 16 lanes does.
func (g *gridConv) transposeAVX512(ks *kernels, src, pd []float32, oc, ld int) bool {
	if oc <= 8 {
		return false
	}
	pix := g.ho * g.wo
	for o := 0; o < oc; o += 16 {
		nch := min(16, oc-o)
		if ld == g.wo {
			if !ks.transpose16(src[o*pix:], pix, pd[o:], pix, nch, panelW) {
				return false
			}
			continue
		}
		for oy := 0; oy < g.ho; oy++ {
			if !ks.transpose16(src[o*pix+oy*g.wo:], pix, pd[oy*ld*panelW+o:], g.wo, nch, panelW) {
				return false
			}
		}
	}
	return true
}
