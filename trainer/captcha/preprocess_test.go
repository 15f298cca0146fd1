package captcha

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestChannels(t *testing.T) {
	for _, tc := range []struct {
		mode string
		ch   int
	}{{ModeNoPre, 3}, {ModeDN, 1}} {
		ch, err := Channels(tc.mode)
		if err != nil || ch != tc.ch {
			t.Errorf("Channels(%q) = %d, %v; want %d", tc.mode, ch, err, tc.ch)
		}
		n, err := InputLen(tc.mode)
		if err != nil || n != tc.ch*Width*Height {
			t.Errorf("InputLen(%q) = %d, %v", tc.mode, n, err)
		}
	}
	if _, err := Channels("dn2x"); err == nil {
		t.Error("unknown mode accepted")
	}
	if err := Preprocess(image.NewGray(image.Rect(0, 0, 5, 5)), ModeDN, make([]float32, 10)); err == nil {
		t.Error("short dst accepted")
	}
	if err := Preprocess(image.NewGray(image.Rect(0, 0, 5, 5)), "x", make([]float32, Width*Height)); err == nil {
		t.Error("unknown mode accepted by Preprocess")
	}
	if err := Preprocess(image.NewGray(image.Rect(0, 0, 0, 5)), ModeNoPre, make([]float32, 3*Width*Height)); err == nil {
		t.Error("empty image accepted")
	}
}

func TestResizeOddSizes(t *testing.T) {
	t.Parallel()
	for _, sz := range []image.Point{{7, 3}, {103, 44}, {156, 55}, {Width, Height}, {300, 101}, {1, 1}} {
		// A horizontal ramp, offset so the image does not start at (0, 0).
		r := image.Rect(5, 9, 5+sz.X, 9+sz.Y)
		img := image.NewGray(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetGray(x, y, color.Gray{uint8(20 + 200*(x-r.Min.X)/max(1, sz.X-1))})
			}
		}
		dst := make([]float32, 3*Width*Height)
		if err := Preprocess(img, ModeNoPre, dst); err != nil {
			t.Fatal(err)
		}
		for c := range 3 {
			plane := dst[c*Width*Height : (c+1)*Width*Height]
			for y := range Height {
				row := plane[y*Width : (y+1)*Width]
				for x := 1; x < Width; x++ {
					if row[x] < row[x-1]-1e-6 {
						t.Fatalf("%v: channel %d row %d not monotonic at %d: %v < %v", sz, c, y, x, row[x], row[x-1])
					}
				}
				if row[0] < 20.0/255-1e-6 || row[Width-1] > 220.0/255+1e-6 {
					t.Fatalf("%v: values %v..%v outside the input's range", sz, row[0], row[Width-1])
				}
				if y > 0 && row[Width/2] != plane[Width/2] {
					t.Fatalf("%v: rows differ for a horizontal ramp", sz)
				}
			}
		}
		if sz == (image.Point{Width, Height}) {
			// Same size: the values are the pixels / 255.
			for x := range Width {
				want := float32(img.GrayAt(r.Min.X+x, r.Min.Y).Y) / 255
				if math.Abs(float64(dst[x]-want)) > 1e-6 {
					t.Fatalf("identity resize: x=%d %v, want %v", x, dst[x], want)
				}
			}
		}
	}
}

func TestNoPreRGBChannels(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 61, 23))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 255, 0, 51, 255
	}
	dst := make([]float32, 3*Width*Height)
	if err := Preprocess(img, ModeNoPre, dst); err != nil {
		t.Fatal(err)
	}
	for c, want := range []float32{1, 0, 0.2} {
		for _, v := range dst[c*Width*Height : (c+1)*Width*Height] {
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("channel %d = %v, want %v", c, v, want)
			}
		}
	}
	// Any other image type goes through the generic path.
	nrgba := image.NewNRGBA(img.Bounds())
	copy(nrgba.Pix, img.Pix)
	dst2 := make([]float32, 3*Width*Height)
	if err := Preprocess(nrgba, ModeNoPre, dst2); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dst[:5], dst[2*Width*Height:2*Width*Height+5]) != fmt.Sprint(dst2[:5], dst2[2*Width*Height:2*Width*Height+5]) {
		t.Error("NRGBA and RGBA preprocess differently")
	}
}

// arcError is the mean absolute difference in rows between the fitted and
// the true arc over the image's columns.
func arcError(a Arc, c Circle, w int) float64 {
	var sum float64
	for x := range w {
		xc := float64(x) + 0.5
		sum += math.Abs(a.Y(xc) - c.Y(xc))
	}
	return sum / float64(w)
}

func TestDenoiseSynthetic(t *testing.T) {
	t.Parallel()
	g, err := NewGenerator(11)
	if err != nil {
		t.Fatal(err)
	}
	var worstArc, worstChar, sumArc float64
	var residual, onArc int
	const n = 60
	for i := range n {
		s := g.Synthetic(i)
		out, arc := Denoise(s.Image)
		if !arc.Found {
			t.Fatalf("sample %d: no arc found", i)
		}
		e := arcError(arc, s.Arc, GenWidth)
		sumArc += e
		worstArc = max(worstArc, e)
		if e >= 2 {
			t.Errorf("sample %d: fitted arc is %.2f rows off on average", i, e)
		}
		if math.Abs(arc.Thickness-s.Arc.Thickness) > 1 {
			t.Errorf("sample %d: thickness %.2f, true %.2f", i, arc.Thickness, s.Arc.Thickness)
		}
		// Characters survive: inside each box the output agrees with the
		// clean text, and keeps about as much ink.
		for k, b := range s.Boxes {
			var agree, total, inkOut, inkText int
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					tv, ov := s.Text.GrayAt(x, y).Y != 0, out.GrayAt(x, y).Y != 0
					total++
					if tv == ov {
						agree++
					}
					if tv {
						inkText++
					}
					if ov {
						inkOut++
					}
				}
			}
			ratio := float64(inkOut) / float64(inkText)
			miss := 1 - float64(agree)/float64(total)
			worstChar = max(worstChar, miss)
			if ratio < 0.85 || ratio > 1.15 || miss > 0.08 {
				t.Errorf("sample %d (%s) char %d: ink kept %.2f, pixels wrong %.1f%%", i, s.Label, k, ratio, 100*miss)
			}
		}
		// The arc is gone where it crosses paper.
		for x := range GenWidth {
			y := int(s.Arc.Y(float64(x) + 0.5))
			if y < 0 || y >= GenHeight || nearText(s.Text, x, y, 2) {
				continue
			}
			onArc++
			if out.GrayAt(x, y).Y != 0 {
				residual++
			}
		}
	}
	t.Logf("arc error: mean %.2f, worst %.2f rows; worst character %.1f%% pixels wrong; %d of %d arc pixels on paper left",
		sumArc/n, worstArc, 100*worstChar, residual, onArc)
	if float64(residual) > 0.02*float64(onArc) {
		t.Errorf("%d of %d arc pixels on paper survive denoising", residual, onArc)
	}
}

// nearText reports whether text has ink within r pixels of (x, y).
func nearText(text *image.Gray, x, y, r int) bool {
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			p := image.Pt(x+dx, y+dy)
			if p.In(text.Rect) && text.GrayAt(p.X, p.Y).Y != 0 {
				return true
			}
		}
	}
	return false
}

func TestDenoiseReal(t *testing.T) {
	t.Parallel()
	set, err := LoadDir(filepath.Join("testdata", "vi000246"))
	if err != nil {
		t.Fatal(err)
	}
	var lost int
	for _, s := range set.Samples {
		out, arc := Denoise(s.Image)
		b := out.Bounds()
		if !arc.Found {
			t.Errorf("%s: no arc found", s.File)
			continue
		}
		yl, yr := arc.Y(0)/float64(b.Dy()), arc.Y(float64(b.Dx()))/float64(b.Dy())
		if yl < 0.3 || yl > 0.65 || yr < 0 || yr > 0.3 || arc.B2 <= 0 {
			t.Errorf("%s: arc from %.2f to %.2f of the height, b2 %.5f: not the THSR arc", s.File, yl, yr, arc.B2)
		}
		if arc.Thickness < 3.5 || arc.Thickness > 6.5 {
			t.Errorf("%s: arc thickness %.1f", s.File, arc.Thickness)
		}
		// In the side columns, where only the arc lives, the output is black.
		for x := range 6 {
			for _, col := range []int{x, b.Dx() - 1 - x%3} {
				y := int(arc.Y(float64(col) + 0.5))
				if y >= 0 && y < b.Dy() && out.GrayAt(col, y).Y != 0 {
					lost++
				}
			}
		}
		// The text stays: the output holds a plausible amount of ink.
		ink := 0
		for _, v := range out.Pix {
			if v != 0 {
				ink++
			}
		}
		if f := float64(ink) / float64(len(out.Pix)); f < 0.08 || f > 0.35 {
			t.Errorf("%s: %.0f%% of the output is text", s.File, 100*f)
		}
	}
	if lost > 30 {
		t.Errorf("%d arc pixels left in the side columns of 100 images", lost)
	}
}

func TestDenoiseNoArc(t *testing.T) {
	t.Parallel()
	// A blank image and a tiny one: no arc, no panic, nothing inverted.
	for _, sz := range []image.Point{{140, 48}, {3, 2}} {
		img := image.NewGray(image.Rect(0, 0, sz.X, sz.Y))
		for i := range img.Pix {
			img.Pix[i] = 220
		}
		out, arc := Denoise(img)
		if arc.Found {
			t.Errorf("%v: arc found on a blank image", sz)
		}
		for _, v := range out.Pix {
			if v != 0 {
				t.Fatalf("%v: blank image denoised to something", sz)
			}
		}
		if err := Preprocess(img, ModeDN, make([]float32, Width*Height)); err != nil {
			t.Error(err)
		}
	}
}

// TestPreprocessDNMatchesDenoise checks that ModeDN is Denoise followed by
// the resize, and that a reused Preprocessor gives the same values as a new
// one across images of different sizes.
func TestPreprocessDNMatchesDenoise(t *testing.T) {
	t.Parallel()
	set, err := LoadDir(filepath.Join("testdata", "vi000246"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPreprocessor(ModeDN)
	if err != nil {
		t.Fatal(err)
	}
	reused := make([]float32, Width*Height)
	fresh := make([]float32, Width*Height)
	viaDenoise := make([]float32, 3*Width*Height)
	for _, s := range set.Samples[:20] {
		if err := p.Process(s.Image, reused); err != nil {
			t.Fatal(err)
		}
		if err := Preprocess(s.Image, ModeDN, fresh); err != nil {
			t.Fatal(err)
		}
		d, _ := Denoise(s.Image)
		if err := Preprocess(d, ModeNoPre, viaDenoise); err != nil {
			t.Fatal(err)
		}
		for i := range fresh {
			if reused[i] != fresh[i] || math.Abs(float64(fresh[i]-viaDenoise[i])) > 1e-6 {
				t.Fatalf("%s: value %d: reused %v, fresh %v, via Denoise %v", s.File, i, reused[i], fresh[i], viaDenoise[i])
			}
		}
	}
}

// TestDenoiseGolden compares Denoise's output with testdata/golden; run
// with -update to rewrite the files after an intended change.
func TestDenoiseGolden(t *testing.T) {
	t.Parallel()
	g, err := NewGenerator(2024)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]image.Image{}
	for i := range 3 {
		inputs[fmt.Sprintf("gen-%d", i)] = g.Synthetic(i).Image
	}
	set, err := LoadDir(filepath.Join("testdata", "vi000246"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range set.Samples[:3] {
		inputs["vi-"+s.File[:len(s.File)-len(filepath.Ext(s.File))]] = s.Image
	}
	for name, img := range inputs {
		out, _ := Denoise(img)
		var buf bytes.Buffer
		if err := png.Encode(&buf, out); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join("testdata", "golden", name+".png")
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		want, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		wg, ok := want.(*image.Gray)
		if !ok || wg.Rect != out.Rect {
			t.Errorf("%s: golden is %T %v, output %v", name, want, want.Bounds(), out.Rect)
			continue
		}
		diff := 0
		for i := range out.Pix {
			if out.Pix[i] != wg.Pix[i] {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d pixels differ from %s", name, diff, p)
		}
	}
}

func benchImage(b *testing.B) image.Image {
	b.Helper()
	set, err := LoadDir(filepath.Join("testdata", "vi000246"))
	if err != nil {
		b.Fatal(err)
	}
	return set.Samples[0].Image
}

func benchmarkPreprocess(b *testing.B, mode string) {
	img := benchImage(b)
	p, err := NewPreprocessor(mode)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := InputLen(mode)
	dst := make([]float32, n)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Process(img, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreprocessDN(b *testing.B)    { benchmarkPreprocess(b, ModeDN) }
func BenchmarkPreprocessNoPre(b *testing.B) { benchmarkPreprocess(b, ModeNoPre) }

func BenchmarkDenoise(b *testing.B) {
	img := benchImage(b)
	b.ReportAllocs()
	for b.Loop() {
		Denoise(img)
	}
}

func TestDenoiseJPEG(t *testing.T) {
	t.Parallel()
	// A JPEG of a synthetic CAPTCHA at another size still has its arc found
	// close to the truth (scaled), despite the compression noise.
	dir := t.TempDir()
	f := fixture{"x.jpg", "2345", 156, 55, "jpeg"}
	writeFiles(t, dir, files{f.name: encodeFixture(t, f, 3), LabelsFile: []byte("filename,label\nx.jpg,2345\n")})
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGenerator(3)
	if err != nil {
		t.Fatal(err)
	}
	truth := g.Synthetic(0).Arc
	_, arc := Denoise(set.Samples[0].Image)
	if !arc.Found {
		t.Fatal("no arc found in the JPEG")
	}
	sx, sy := 156.0/GenWidth, 55.0/GenHeight
	var sum float64
	for x := range 156 {
		xc := float64(x) + 0.5
		sum += math.Abs(arc.Y(xc) - truth.Y(xc/sx)*sy)
	}
	if e := sum / 156; e > 2 {
		t.Errorf("arc %.2f rows off on average", e)
	}
	dst := make([]float32, Width*Height)
	if err := Preprocess(set.Samples[0].Image, ModeDN, dst); err != nil {
		t.Fatal(err)
	}
}
