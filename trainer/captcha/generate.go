package captcha

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Size of the synthetic images, close to the real THSR CAPTCHAs (which vary
// from about 103x44 to 156x55).
const (
	GenWidth  = 140
	GenHeight = 48
)

// Grey levels of the real images: ink is uniform in InkMin..InkMax and paper
// uniform in PaperMin..PaperMax, with nothing in between.
const (
	InkMin   = 6
	InkMax   = 85
	PaperMin = 170
	PaperMax = 249
)

// Circle is the true arc of a synthetic image: the upper part of a circle
// with centre (CX, CY) and radius R, drawn Thickness pixels thick. Pixel
// coordinates have their origin at the top left corner of the image, with
// pixel (x, y) covering [x, x+1) x [y, y+1).
type Circle struct {
	CX, CY, R float64
	Thickness float64
}

// Y returns the row, in pixel coordinates, of the arc's centre line at
// horizontal position x (x = px + 0.5 is the middle of pixel column px).
func (c Circle) Y(x float64) float64 {
	d := c.R*c.R - (x-c.CX)*(x-c.CX)
	if d < 0 {
		d = 0
	}
	return c.CY - math.Sqrt(d)
}

// Synthetic is one generated CAPTCHA together with what was used to draw it,
// for tests and previews.
type Synthetic struct {
	Sample
	// Arc is the inverting arc drawn across the image.
	Arc Circle
	// Boxes are the tight bounding boxes of the four characters' ink.
	Boxes [LabelLen]image.Rectangle
	// Text is the characters' ink alone (255 ink, 0 paper), before the arc
	// and the speck noise.
	Text *image.Gray
}

// glyph is a symbol's outline in font units, Y pointing down.
type glyph struct {
	segs                   []sfnt.Segment
	minX, minY, maxX, maxY float32
}

// Generator draws synthetic THSR-like CAPTCHAs. Image i of a generator
// depends only on the seed and i, so images can be drawn in any order or in
// parallel. A Generator is safe for concurrent use.
type Generator struct {
	seed   int64
	glyphs [NumClasses]glyph
}

// NewGenerator returns a generator for the given seed, using the Go Bold
// font compiled into the binary.
func NewGenerator(seed int64) (*Generator, error) {
	f, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("captcha: parse Go Bold: %w", err)
	}
	g := &Generator{seed: seed}
	var buf sfnt.Buffer
	ppem := fixed.Int26_6(f.UnitsPerEm()) << 6
	for i := 0; i < NumClasses; i++ {
		idx, err := f.GlyphIndex(&buf, rune(Alphabet[i]))
		if err != nil {
			return nil, fmt.Errorf("captcha: glyph %q: %w", Alphabet[i], err)
		}
		segs, err := f.LoadGlyph(&buf, idx, ppem, nil)
		if err != nil {
			return nil, fmt.Errorf("captcha: load glyph %q: %w", Alphabet[i], err)
		}
		gl := glyph{segs: append([]sfnt.Segment(nil), segs...)}
		gl.minX, gl.minY = math.MaxFloat32, math.MaxFloat32
		gl.maxX, gl.maxY = -math.MaxFloat32, -math.MaxFloat32
		for _, s := range gl.segs {
			n := 1
			switch s.Op {
			case sfnt.SegmentOpQuadTo:
				n = 2
			case sfnt.SegmentOpCubeTo:
				n = 3
			}
			for _, p := range s.Args[:n] {
				x, y := float32(p.X)/64, float32(p.Y)/64
				gl.minX, gl.maxX = min(gl.minX, x), max(gl.maxX, x)
				gl.minY, gl.maxY = min(gl.minY, y), max(gl.maxY, y)
			}
		}
		g.glyphs[i] = gl
	}
	return g, nil
}

// Generate draws n synthetic CAPTCHAs for seed; sample i is named
// like WriteDir names it.
func Generate(n int, seed int64) ([]Sample, error) {
	g, err := NewGenerator(seed)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, n)
	for i := range out {
		out[i] = g.Synthetic(i).Sample
	}
	return out, nil
}

// charPlacement is where one character is drawn.
type charPlacement struct {
	class          int
	height, cond   float64 // cap height in pixels; horizontal condensing factor
	angle          float64 // radians, positive is clockwise on screen
	cx, cy, halfW  float64
	pixelW, pixelH float64
}

// Synthetic draws image i.
func (g *Generator) Synthetic(i int) Synthetic {
	rng := rand.New(rand.NewPCG(uint64(g.seed), uint64(i)^0x9e3779b97f4a7c15))
	w, h := GenWidth, GenHeight
	uni := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }

	// Characters: label, sizes, then a left-to-right layout with gaps that
	// may be negative so neighbours touch.
	var pl [LabelLen]charPlacement
	label := make([]byte, LabelLen)
	cond := uni(0.80, 0.96)
	height := uni(28, 33)
	total := 0.0
	for k := range pl {
		c := rng.IntN(NumClasses)
		label[k] = Alphabet[c]
		gl := &g.glyphs[c]
		p := &pl[k]
		p.class = c
		p.height = height * uni(0.96, 1.04)
		p.cond = cond * uni(0.95, 1.05)
		p.angle = uni(-12, 12) * math.Pi / 180
		s := p.height / float64(gl.maxY-gl.minY)
		p.pixelW = float64(gl.maxX-gl.minX) * s * p.cond
		p.pixelH = p.height
		// Horizontal room taken by the rotated character.
		p.halfW = 0.5 * (p.pixelW*math.Abs(math.Cos(p.angle)) + p.pixelH*math.Abs(math.Sin(p.angle))*0.6)
		total += 2 * p.halfW
	}
	gaps := [LabelLen]float64{}
	for k := 1; k < LabelLen; k++ {
		gaps[k] = uni(-2, 5)
		total += gaps[k]
	}
	left, right := 12.0, float64(w)-7
	x0 := left + uni(0, 1)*max(0, right-left-total)
	if total > right-left {
		// Squeeze the gaps so the text stays out of the arc-only margins.
		squeeze := (total - (right - left)) / (LabelLen - 1)
		for k := 1; k < LabelLen; k++ {
			gaps[k] -= squeeze
		}
		x0 = left
	}
	baseY := float64(h)*0.55 + uni(-2, 2)
	x := x0
	for k := range pl {
		p := &pl[k]
		x += gaps[k]
		p.cx = x + p.halfW
		p.cy = baseY + uni(-2.5, 2.5)
		x += 2 * p.halfW
	}

	// Rasterize each character separately so its box is known.
	text := image.NewGray(image.Rect(0, 0, w, h))
	alpha := image.NewAlpha(image.Rect(0, 0, w, h))
	rz := vector.NewRasterizer(w, h)
	var boxes [LabelLen]image.Rectangle
	for k := range pl {
		p := &pl[k]
		gl := &g.glyphs[p.class]
		s := p.height / float64(gl.maxY-gl.minY)
		sx := s * p.cond
		mx, my := float64(gl.minX+gl.maxX)/2, float64(gl.minY+gl.maxY)/2
		sin, cos := math.Sincos(p.angle)
		tf := func(q fixed.Point26_6) (float32, float32) {
			px := (float64(q.X)/64 - mx) * sx
			py := (float64(q.Y)/64 - my) * s
			return float32(p.cx + px*cos - py*sin), float32(p.cy + px*sin + py*cos)
		}
		rz.Reset(w, h)
		for _, sg := range gl.segs {
			switch sg.Op {
			case sfnt.SegmentOpMoveTo:
				rz.MoveTo(tf(sg.Args[0]))
			case sfnt.SegmentOpLineTo:
				rz.LineTo(tf(sg.Args[0]))
			case sfnt.SegmentOpQuadTo:
				ax, ay := tf(sg.Args[0])
				bx, by := tf(sg.Args[1])
				rz.QuadTo(ax, ay, bx, by)
			case sfnt.SegmentOpCubeTo:
				ax, ay := tf(sg.Args[0])
				bx, by := tf(sg.Args[1])
				cx, cy := tf(sg.Args[2])
				rz.CubeTo(ax, ay, bx, by, cx, cy)
			}
		}
		rz.ClosePath()
		clear(alpha.Pix)
		rz.Draw(alpha, alpha.Bounds(), image.Opaque, image.Point{})
		box := image.Rectangle{}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if alpha.Pix[y*alpha.Stride+x] >= 128 {
					text.Pix[y*text.Stride+x] = 255
					box = box.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		boxes[k] = box
	}

	// The arc: part of a large circle entering the left edge at yl and
	// leaving the right edge at yr, highest at xv (towards the right), so it
	// climbs steeply on the left and flattens on the right.
	yl := float64(h) * uni(0.38, 0.60)
	yr := float64(h) * uni(0.10, 0.22)
	arc := circleThrough(float64(w), yl, yr, float64(w)*uni(0.68, 1.0))
	arc.Thickness = uni(4.4, 5.4)

	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			ink := text.Pix[y*text.Stride+x] != 0
			dx, dy := float64(x)+0.5-arc.CX, float64(y)+0.5-arc.CY
			if math.Abs(math.Hypot(dx, dy)-arc.R) < arc.Thickness/2 && dy < 0 {
				ink = !ink
			}
			// Specks: about 3% of paper dark, 1% of ink light.
			r := rng.Float64()
			if ink && r < 0.01 || !ink && r < 0.03 {
				ink = !ink
			}
			var v int
			if ink {
				v = InkMin + rng.IntN(InkMax-InkMin+1)
			} else {
				v = PaperMin + rng.IntN(PaperMax-PaperMin+1)
			}
			img.Pix[y*img.Stride+x] = uint8(v)
		}
	}
	return Synthetic{
		Sample: Sample{File: SampleName(i), Label: string(label), Image: img},
		Arc:    arc,
		Boxes:  boxes,
		Text:   text,
	}
}

// circleThrough returns the circle whose upper part passes through (0, yl)
// and (w, yr), yl > yr, with its highest point at x = xv (xv > w/2). When no
// such circle exists it returns the flattest one with that top.
func circleThrough(w, yl, yr, xv float64) Circle {
	// With the centre at (xv, cy): cy - sqrt(R^2 - xv^2) = yl and
	// cy - sqrt(R^2 - (w-xv)^2) = yr. The difference of the square roots
	// falls as R grows; find R by bisection.
	drop := yl - yr
	diff := func(r float64) float64 {
		return math.Sqrt(r*r-(w-xv)*(w-xv)) - math.Sqrt(r*r-xv*xv)
	}
	lo, hi := xv, 1e6
	for range 100 {
		mid := (lo + hi) / 2
		if diff(mid) > drop {
			lo = mid
		} else {
			hi = mid
		}
	}
	r := (lo + hi) / 2
	return Circle{CX: xv, CY: yl + math.Sqrt(r*r-xv*xv), R: r}
}
