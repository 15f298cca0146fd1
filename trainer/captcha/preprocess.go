package captcha

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
)

// Size of the preprocessed input the CAPTCHA models read, as in the report.
const (
	Width  = 130
	Height = 50
)

// Preprocessing modes.
const (
	// ModeNoPre resizes to Width x Height and scales to 0..1, keeping three
	// channels (R, G, B).
	ModeNoPre = "nopre"
	// ModeDN denoises (see Denoise), then resizes to Width x Height and
	// scales to 0..1, one channel, text bright on black.
	ModeDN = "dn"
)

// Modes returns the preprocessing modes.
func Modes() []string { return []string{ModeNoPre, ModeDN} }

// Channels returns the number of channels mode produces.
func Channels(mode string) (int, error) {
	switch mode {
	case ModeNoPre:
		return 3, nil
	case ModeDN:
		return 1, nil
	}
	return 0, fmt.Errorf("captcha: unknown preprocessing mode %q (want %q or %q)", mode, ModeNoPre, ModeDN)
}

// InputLen returns the number of float32 values Preprocess writes for mode:
// Channels(mode) x Height x Width.
func InputLen(mode string) (int, error) {
	c, err := Channels(mode)
	return c * Height * Width, err
}

// Arc is the arc found by Denoise: its centre line is the parabola
// y = B0 + B1 x + B2 x^2 fitted by least squares, in pixel coordinates of the
// input image (pixel (px, py) covers [px, px+1) x [py, py+1), so column px's
// middle is x = px + 0.5). Thickness is its estimated thickness in pixels,
// across the line.
type Arc struct {
	B0, B1, B2 float64
	Thickness  float64
	// Found is false when too few arc pixels were seen to fit a curve; the
	// other fields are then zero and nothing was erased.
	Found bool
}

// Y returns the row of the arc's centre line at horizontal position x.
func (a Arc) Y(x float64) float64 { return a.B0 + x*(a.B1+x*a.B2) }

// Geometry of the arc fit, for a reference width of 140 pixels (scaled with
// the image width): the arc is fitted in the leftmost fitLeft and the
// rightmost fitRight columns, where the characters do not reach.
const (
	refWidth     = 140
	fitLeft      = 14
	fitRight     = 7
	fitMinPoints = 12
)

// Preprocessor applies one preprocessing mode, reusing its buffers between
// images. It is not safe for concurrent use; give each goroutine its own.
type Preprocessor struct {
	mode string
	ch   int
	grey []uint8 // input as grey (dn) or planar RGB (nopre)
	bin  []uint8 // thresholded, 0 or 1
	tmp  []uint8
	rs   resizer
	px   []point
	side []point // per side column, the mean of its arc pixels
}

// NewPreprocessor returns a Preprocessor for mode.
func NewPreprocessor(mode string) (*Preprocessor, error) {
	ch, err := Channels(mode)
	if err != nil {
		return nil, err
	}
	return &Preprocessor{mode: mode, ch: ch}, nil
}

// Preprocess writes img, preprocessed by mode, into dst in CHW order
// (channel, row, column), Channels(mode) x Height x Width values in 0..1.
// It is the same at training, evaluation and prediction. For many images,
// a Preprocessor avoids reallocating buffers.
func Preprocess(img image.Image, mode string, dst []float32) error {
	p, err := NewPreprocessor(mode)
	if err != nil {
		return err
	}
	return p.Process(img, dst)
}

// Process writes img, preprocessed, into dst; see Preprocess.
func (p *Preprocessor) Process(img image.Image, dst []float32) error {
	if want := p.ch * Height * Width; len(dst) != want {
		return fmt.Errorf("captcha: preprocess: dst has %d values, want %d", len(dst), want)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("captcha: preprocess: empty image %v", b)
	}
	const inv = 1.0 / 255
	if p.mode == ModeDN {
		p.grey = greyPixels(img, p.grey)
		p.denoise(w, h)
		// bin now holds 0 or 255.
		p.rs.resize(p.bin, w, h, dst, inv)
		return nil
	}
	if g, ok := img.(*image.Gray); ok {
		p.grey = greyPixels(g, p.grey)
		plane := dst[:Height*Width]
		p.rs.resize(p.grey, w, h, plane, inv)
		copy(dst[Height*Width:], plane)
		copy(dst[2*Height*Width:], plane)
		return nil
	}
	p.grey = rgbPlanes(img, p.grey)
	for c := range 3 {
		p.rs.resize(p.grey[c*w*h:(c+1)*w*h], w, h, dst[c*Height*Width:(c+1)*Height*Width], inv)
	}
	return nil
}

// Denoise returns img thresholded (text white, 255, on black, 0), with the
// speck noise and the arc removed, at img's own size, and the arc it found.
// It is the image part of ModeDN, before resizing.
func Denoise(img image.Image) (*image.Gray, Arc) {
	var p Preprocessor
	b := img.Bounds()
	p.grey = greyPixels(img, nil)
	arc := p.denoise(b.Dx(), b.Dy())
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	copy(out.Pix, p.bin)
	return out, arc
}

// denoise runs the dn steps on p.grey (w x h), leaving 0 or 255 per pixel in
// p.bin.
func (p *Preprocessor) denoise(w, h int) Arc {
	n := w * h
	p.bin = grow(p.bin, n)
	p.tmp = grow(p.tmp, n)
	// Threshold, inverted: ink (dark) becomes 1.
	t := otsu(p.grey[:n])
	for i, v := range p.grey[:n] {
		p.tmp[i] = b2u(v <= t)
	}
	// Remove specks: 3x3 majority.
	majority3(p.tmp, p.bin, w, h)
	arc := p.fitArc(w, h)
	if arc.Found {
		arc = p.refineArc(arc, w, h)
		invertBand(p.bin, w, h, arc)
		cleanBand(p.bin, w, h, arc)
	}
	for i, v := range p.bin[:n] {
		p.bin[i] = v * 255
	}
	return arc
}

// point is a pixel centre.
type point struct{ x, y float64 }

// fitArc fits the arc in the side columns. A side column where the arc
// runs alone holds one run of white a few pixels long; the parabola is fitted
// by least squares to those runs' pixels, so that a character reaching into
// a side column (two runs, or one long run) does not pull the curve off.
// When fewer than four such columns exist on each side, every white pixel of
// the side columns is used, as in the report's sources.
func (p *Preprocessor) fitArc(w, h int) Arc {
	left := max(3, int(math.Round(fitLeft*float64(w)/refWidth)))
	right := max(2, int(math.Round(fitRight*float64(w)/refWidth)))
	if left+right > w {
		return Arc{}
	}
	cols := sideColumns(w, left, right)
	pts := p.px[:0]
	p.side = p.side[:0]
	var lens []float64
	nl, nr := 0, 0
	for _, x := range cols {
		runs, start, end := 0, 0, 0
		for y := 0; y < h; y++ {
			if p.bin[y*w+x] == 0 {
				continue
			}
			if y == 0 || p.bin[(y-1)*w+x] == 0 {
				runs++
				start = y
			}
			end = y
		}
		if runs != 1 || end-start+1 < 2 || end-start+1 > 9 {
			continue
		}
		xc := float64(x) + 0.5
		for y := start; y <= end; y++ {
			pts = append(pts, point{xc, float64(y) + 0.5})
		}
		p.side = append(p.side, point{xc, float64(start+end)/2 + 0.5})
		lens = append(lens, float64(end-start+1))
		if x < left {
			nl++
		} else {
			nr++
		}
	}
	if nl < 4 || nr < 3 {
		// Fall back to every white pixel of the side columns.
		pts, p.side, lens = pts[:0], p.side[:0], lens[:0]
		for _, x := range cols {
			n, sum := 0, 0.0
			for y := 0; y < h; y++ {
				if p.bin[y*w+x] != 0 {
					pts = append(pts, point{float64(x) + 0.5, float64(y) + 0.5})
					n++
					sum += float64(y) + 0.5
				}
			}
			if n > 0 {
				p.side = append(p.side, point{float64(x) + 0.5, sum / float64(n)})
				lens = append(lens, float64(n))
			}
		}
	}
	p.px = pts
	if len(pts) < fitMinPoints {
		return Arc{}
	}
	arc, ok := fitParabola(pts, float64(w))
	if !ok {
		return Arc{}
	}
	// Drop the columns whose run is far from the curve (a character's
	// stroke merged with the arc, say) and refit.
	for _, cut := range []float64{2.5, 1.5} {
		n := 0
		for _, q := range p.side {
			if math.Abs(q.y-arc.Y(q.x)) <= cut {
				n++
			}
		}
		if n < 6 || n == len(p.side) {
			continue
		}
		pts = pts[:0]
		side, kept := p.side[:0], lens[:0]
		for i, q := range p.side {
			if math.Abs(q.y-arc.Y(q.x)) > cut {
				continue
			}
			side, kept = append(side, q), append(kept, lens[i])
			half := (lens[i] - 1) / 2
			for y := q.y - half; y <= q.y+half+0.01; y++ {
				pts = append(pts, point{q.x, y})
			}
		}
		p.side, lens = side, kept
		if a, ok := fitParabola(pts, float64(w)); ok {
			arc = a
		}
	}
	p.px = pts
	// Thickness across the line: the median run, times the cosine of the
	// slope.
	th := lens[:0]
	for i, q := range p.side {
		slope := arc.B1 + 2*arc.B2*q.x
		th = append(th, lens[i]/math.Sqrt(1+slope*slope))
	}
	slices.Sort(th)
	arc.Thickness = min(7, max(3, th[len(th)/2]))
	arc.Found = true
	return arc
}

// refineArc refits the arc using every column where it is clean: where a
// window around the side fit holds exactly one run of white (the arc on
// paper) or one run of black (the arc across a character) of about the
// arc's thickness. The side columns alone leave the middle off by a pixel
// or so, since the arc is a circle, not a parabola.
func (p *Preprocessor) refineArc(a Arc, w, h int) Arc {
	pts := append(p.px[:0], p.side...)
	first, last := p.side[0].x, p.side[len(p.side)-1].x
	for x := 0; x < w; x++ {
		xc := float64(x) + 0.5
		if xc <= first || xc >= last {
			continue
		}
		if slices.ContainsFunc(p.side, func(q point) bool { return q.x == xc }) {
			continue
		}
		yc := a.Y(xc)
		slope := a.B1 + 2*a.B2*xc
		tv := a.Thickness * math.Sqrt(1+slope*slope)
		y0, y1 := int(math.Floor(yc-tv/2-4)), int(math.Ceil(yc+tv/2+4))
		if y0 < 0 || y1 >= h {
			continue
		}
		// Count runs of each colour inside the window; the window's ends
		// give the background colour.
		bg := p.bin[y0*w+x]
		if p.bin[y1*w+x] != bg {
			continue
		}
		runs, start, end := 0, -1, -1
		for y := y0 + 1; y < y1; y++ {
			v := p.bin[y*w+x]
			if v != bg && p.bin[(y-1)*w+x] == bg {
				runs++
				start = y
			}
			if v != bg {
				end = y
			}
		}
		if runs != 1 {
			continue
		}
		n := float64(end - start + 1)
		if math.Abs(n-tv) > 1.6 {
			continue
		}
		pts = append(pts, point{xc, float64(start+end)/2 + 0.5})
	}
	p.px = pts
	if len(pts) < w/4 {
		return a
	}
	b, ok := fitParabola(pts, float64(w))
	if !ok {
		return a
	}
	kept := pts[:0:0]
	for _, q := range pts {
		if math.Abs(q.y-b.Y(q.x)) <= 1.5 {
			kept = append(kept, q)
		}
	}
	if len(kept) >= w/4 {
		if c, ok := fitParabola(kept, float64(w)); ok {
			b = c
		}
	}
	// Keep the side fit where the refit strays from it at the sides.
	var dev float64
	for _, q := range p.side {
		dev += math.Abs(b.Y(q.x) - a.Y(q.x))
	}
	if dev/float64(len(p.side)) > 1.5 {
		return a
	}
	b.Thickness, b.Found = a.Thickness, true
	return b
}

// cleanBand removes the one-pixel slivers the band inversion leaves at the
// arc's edges where the fit is a little off: near the band, a pixel unlike
// both its upper and lower neighbours takes their value.
func cleanBand(bin []uint8, w, h int, a Arc) {
	for x := 0; x < w; x++ {
		xc := float64(x) + 0.5
		yc := a.Y(xc)
		slope := a.B1 + 2*a.B2*xc
		half := a.Thickness / 2 * math.Sqrt(1+slope*slope)
		y0 := max(1, int(math.Floor(yc-half-2)))
		y1 := min(h-2, int(math.Ceil(yc+half+1)))
		for y := y0; y <= y1; y++ {
			up, v, dn := bin[(y-1)*w+x], bin[y*w+x], bin[(y+1)*w+x]
			if up == dn && v != up {
				bin[y*w+x] = up
			}
		}
	}
}

// sideColumns lists the column indices used for the fit.
func sideColumns(w, left, right int) []int {
	cols := make([]int, 0, left+right)
	for x := 0; x < left; x++ {
		cols = append(cols, x)
	}
	for x := w - right; x < w; x++ {
		cols = append(cols, x)
	}
	return cols
}

// fitParabola fits y = b0 + b1 x + b2 x^2 by least squares. x is scaled to
// u = (x - w/2) / w for a well-conditioned system.
func fitParabola(pts []point, w float64) (Arc, bool) {
	var s [5]float64 // sums of u^0..u^4
	var t [3]float64 // sums of y u^0..u^2
	for _, q := range pts {
		u := (q.x - w/2) / w
		u2 := u * u
		s[0]++
		s[1] += u
		s[2] += u2
		s[3] += u2 * u
		s[4] += u2 * u2
		t[0] += q.y
		t[1] += q.y * u
		t[2] += q.y * u2
	}
	m := [3][3]float64{{s[0], s[1], s[2]}, {s[1], s[2], s[3]}, {s[2], s[3], s[4]}}
	c, ok := solve3(m, t)
	if !ok {
		return Arc{}, false
	}
	// y = c0 + c1 u + c2 u^2 with u = (x - w/2)/w.
	k := 1 / w
	x0 := w / 2
	return Arc{
		B0: c[0] - c[1]*k*x0 + c[2]*k*k*x0*x0,
		B1: c[1]*k - 2*c[2]*k*k*x0,
		B2: c[2] * k * k,
	}, true
}

// solve3 solves m c = t by Cramer's rule.
func solve3(m [3][3]float64, t [3]float64) ([3]float64, bool) {
	det := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
			a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
			a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	d := det(m)
	if math.Abs(d) < 1e-12 {
		return [3]float64{}, false
	}
	var c [3]float64
	for j := range 3 {
		mj := m
		for i := range 3 {
			mj[i][j] = t[i]
		}
		c[j] = det(mj) / d
	}
	return c, true
}

// invertBand inverts, in every column, the rows within half the arc's
// thickness of its centre line, measured across the line.
func invertBand(bin []uint8, w, h int, a Arc) {
	for x := 0; x < w; x++ {
		xc := float64(x) + 0.5
		yc := a.Y(xc)
		slope := a.B1 + 2*a.B2*xc
		half := a.Thickness / 2 * math.Sqrt(1+slope*slope)
		y0 := max(0, int(math.Ceil(yc-half-0.5)))
		y1 := min(h-1, int(math.Floor(yc+half-0.5)))
		for y := y0; y <= y1; y++ {
			bin[y*w+x] ^= 1
		}
	}
}

// majority3 sets dst to 1 where at least 5 of the 3x3 neighbourhood of src
// is 1, the border replicated.
func majority3(src, dst []uint8, w, h int) {
	for y := 0; y < h; y++ {
		up := src[max(0, y-1)*w : max(0, y-1)*w+w]
		mid := src[y*w : y*w+w]
		dn := src[min(h-1, y+1)*w : min(h-1, y+1)*w+w]
		out := dst[y*w : y*w+w]
		// Column sums, sliding.
		col := func(x int) uint8 { return up[x] + mid[x] + dn[x] }
		prev, cur := col(0), col(0)
		for x := 0; x < w; x++ {
			next := cur
			if x+1 < w {
				next = col(x + 1)
			}
			out[x] = b2u(prev+cur+next >= 5)
			prev, cur = cur, next
		}
	}
}

// otsu returns the threshold t that best splits pix into two classes, dark
// (<= t) and light (> t).
func otsu(pix []uint8) uint8 {
	var hist [256]int
	for _, v := range pix {
		hist[v]++
	}
	total := float64(len(pix))
	var sum float64
	for i, c := range hist {
		sum += float64(i * c)
	}
	var sumB, wB float64
	best, bestT := -1.0, uint8(127)
	for i, c := range hist {
		wB += float64(c)
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i * c)
		mB, mF := sumB/wB, (sum-sumB)/wF
		v := wB * wF * (mB - mF) * (mB - mF)
		if v > best {
			best, bestT = v, uint8(i)
		}
	}
	return bestT
}

// greyPixels returns img's grey levels, row by row, in buf (grown as needed).
func greyPixels(img image.Image, buf []uint8) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	buf = grow(buf, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(buf[y*w:(y+1)*w], m.Pix[o:o+w])
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			for x := 0; x < w; x++ {
				s := m.Pix[o+4*x : o+4*x+3 : o+4*x+3]
				buf[y*w+x] = uint8((19595*uint32(s[0]) + 38470*uint32(s[1]) + 7471*uint32(s[2]) + 1<<15) >> 16)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				buf[y*w+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	return buf
}

// rgbPlanes returns img as three planes R, G, B, in buf.
func rgbPlanes(img image.Image, buf []uint8) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	buf = grow(buf, 3*n)
	if m, ok := img.(*image.RGBA); ok {
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			for x := 0; x < w; x++ {
				i := y*w + x
				buf[i], buf[n+i], buf[2*n+i] = m.Pix[o+4*x], m.Pix[o+4*x+1], m.Pix[o+4*x+2]
			}
		}
		return buf
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			i := y*w + x
			buf[i], buf[n+i], buf[2*n+i] = c.R, c.G, c.B
		}
	}
	return buf
}

// resizer resizes one plane bilinearly to Width x Height with the half-pixel
// alignment of OpenCV's INTER_LINEAR, caching its tables per source size.
type resizer struct {
	sw, sh int
	x0, x1 []int32
	fx     []float32
	y0, y1 []int32
	fy     []float32
}

// tables computes source indices and weights for one axis.
func tables(src, dst int) (i0, i1 []int32, f []float32) {
	i0, i1, f = make([]int32, dst), make([]int32, dst), make([]float32, dst)
	scale := float64(src) / float64(dst)
	for d := range dst {
		s := (float64(d)+0.5)*scale - 0.5
		s = max(0, s)
		a := int(s)
		if a > src-1 {
			a = src - 1
		}
		i0[d], i1[d], f[d] = int32(a), int32(min(a+1, src-1)), float32(s-float64(a))
	}
	return
}

// resize writes src (sw x sh) resized to Width x Height into dst, times
// scale.
func (r *resizer) resize(src []uint8, sw, sh int, dst []float32, scale float32) {
	if r.sw != sw || r.sh != sh {
		r.sw, r.sh = sw, sh
		r.x0, r.x1, r.fx = tables(sw, Width)
		r.y0, r.y1, r.fy = tables(sh, Height)
	}
	for y := range Height {
		a := src[int(r.y0[y])*sw : int(r.y0[y])*sw+sw]
		b := src[int(r.y1[y])*sw : int(r.y1[y])*sw+sw]
		fy := r.fy[y]
		out := dst[y*Width : (y+1)*Width]
		for x := range Width {
			i, j, fx := r.x0[x], r.x1[x], r.fx[x]
			top := float32(a[i]) + fx*(float32(a[j])-float32(a[i]))
			bot := float32(b[i]) + fx*(float32(b[j])-float32(b[i]))
			out[x] = (top + fy*(bot-top)) * scale
		}
	}
}

// grow returns buf with length n, reallocating only when too small.
func grow(buf []uint8, n int) []uint8 {
	if cap(buf) < n {
		return make([]uint8, n)
	}
	return buf[:n]
}

// b2u converts a bool to 0 or 1.
func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
