package captcha

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"
)

func TestGenerateSizeAndLabels(t *testing.T) {
	t.Parallel()
	samples, err := Generate(50, 1)
	if err != nil {
		t.Fatal(err)
	}
	counts := make(map[byte]int)
	for i, s := range samples {
		if err := ValidateLabel(s.Label); err != nil {
			t.Errorf("sample %d: %v", i, err)
		}
		for j := 0; j < len(s.Label); j++ {
			counts[s.Label[j]]++
		}
		if b := s.Image.Bounds(); b != image.Rect(0, 0, GenWidth, GenHeight) {
			t.Errorf("sample %d: bounds %v", i, b)
		}
		if s.File != SampleName(i) {
			t.Errorf("sample %d: file %q", i, s.File)
		}
		g := s.Image.(*image.Gray)
		ink := 0
		for _, v := range g.Pix {
			switch {
			case v >= InkMin && v <= InkMax:
				ink++
			case v >= PaperMin && v <= PaperMax:
			default:
				t.Fatalf("sample %d: grey level %d is neither ink nor paper", i, v)
			}
		}
		// The real images are about 28% ink; accept a broad band.
		if f := float64(ink) / float64(len(g.Pix)); f < 0.12 || f > 0.40 {
			t.Errorf("sample %d: ink fraction %.2f", i, f)
		}
	}
	if len(counts) < 15 {
		t.Errorf("only %d distinct symbols in 200 characters", len(counts))
	}
}

func TestGenerateTruth(t *testing.T) {
	t.Parallel()
	g, err := NewGenerator(5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		s := g.Synthetic(i)
		yl, yr := s.Arc.Y(0)/GenHeight, s.Arc.Y(GenWidth)/GenHeight
		if yl < 0.37 || yl > 0.61 || yr < 0.09 || yr > 0.23 {
			t.Errorf("sample %d: arc enters at %.2f and leaves at %.2f of the height", i, yl, yr)
		}
		for k, b := range s.Boxes {
			if b.Dy() < 20 || b.Dx() < 8 {
				t.Errorf("sample %d char %d: box %v too small", i, k, b)
			}
			if b.Min.X < 8 || b.Max.X > GenWidth-4 {
				t.Errorf("sample %d char %d: box %v reaches the arc-only margins", i, k, b)
			}
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	dir1, dir2, dir3 := t.TempDir(), t.TempDir(), t.TempDir()
	if err := WriteDir(dir1, 12, 42); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir2, 12, 42); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir3, 12, 43); err != nil {
		t.Fatal(err)
	}
	names := []string{LabelsFile}
	for i := range 12 {
		names = append(names, SampleName(i))
	}
	same := 0
	for _, n := range names {
		a := readFile(t, filepath.Join(dir1, n))
		b := readFile(t, filepath.Join(dir2, n))
		c := readFile(t, filepath.Join(dir3, n))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with seed 42", n)
		}
		if bytes.Equal(a, c) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d files identical for seeds 42 and 43", same)
	}
	// What WriteDir writes, LoadDir reads back, labels and pixels equal.
	set, err := LoadDir(dir1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(12, 42)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 12 {
		t.Fatalf("loaded %d samples, want 12", set.Len())
	}
	for i, s := range set.Samples {
		if s.Label != want[i].Label || s.File != want[i].File {
			t.Errorf("sample %d: %s %s, want %s %s", i, s.File, s.Label, want[i].File, want[i].Label)
		}
		if !bytes.Equal(s.Image.(*image.Gray).Pix, want[i].Image.(*image.Gray).Pix) {
			t.Errorf("sample %d: pixels differ after a round trip", i)
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkGenerate(b *testing.B) {
	g, err := NewGenerator(1)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		g.Synthetic(i)
	}
}
