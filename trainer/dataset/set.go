package dataset

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// Set is a labelled image dataset held in memory.
type Set struct {
	// X holds N*C*H*W pixel values in 0..1, example-major, NCHW.
	X []float32
	// Y holds N*Heads class indexes, example-major: Y[i*Heads+h] is the class
	// of head h of example i.
	Y []int32
	// N is the number of examples; C, H and W are one image's channels,
	// height and width; Heads is the number of labels per example.
	N, C, H, W, Heads int
	// Classes names the classes of every head, e.g. "0".."9".
	Classes []string
}

// Size is the number of values in one image (C*H*W).
func (s *Set) Size() int { return s.C * s.H * s.W }

// Validate reports an error when the set's slices and sizes disagree or a
// label is out of range.
func (s *Set) Validate() error {
	switch {
	case s == nil:
		return errors.New("dataset: nil set")
	case s.N < 0 || s.C < 1 || s.H < 1 || s.W < 1 || s.Heads < 1:
		return fmt.Errorf("dataset: bad dimensions N=%d C=%d H=%d W=%d heads=%d", s.N, s.C, s.H, s.W, s.Heads)
	case len(s.X) != s.N*s.Size():
		return fmt.Errorf("dataset: X has %d values, want N*C*H*W = %d", len(s.X), s.N*s.Size())
	case len(s.Y) != s.N*s.Heads:
		return fmt.Errorf("dataset: Y has %d labels, want N*heads = %d", len(s.Y), s.N*s.Heads)
	case len(s.Classes) == 0:
		return errors.New("dataset: no class names")
	}
	for i, y := range s.Y {
		if y < 0 || int(y) >= len(s.Classes) {
			return fmt.Errorf("dataset: label %d of example %d is out of range 0..%d", y, i/s.Heads, len(s.Classes)-1)
		}
	}
	return nil
}

// Pixels returns the pixels of example i (a view into X, not a copy).
func (s *Set) Pixels(i int) []float32 {
	n := s.Size()
	return s.X[i*n : (i+1)*n]
}

// Labels returns the Heads class indexes of example i (a view into Y).
func (s *Set) Labels(i int) []int32 {
	return s.Y[i*s.Heads : (i+1)*s.Heads]
}

// Label returns example i's labels as class names joined together, e.g. "7"
// or "7F37" for a 4-head CAPTCHA.
func (s *Set) Label(i int) string {
	return s.Name(s.Labels(i))
}

// Name joins the names of the given class indexes, one per head.
func (s *Set) Name(classes []int32) string {
	var b []byte
	for _, c := range classes {
		if c >= 0 && int(c) < len(s.Classes) {
			b = append(b, s.Classes[c]...)
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

// Subset returns a new set holding copies of the examples at idx, in that order.
func (s *Set) Subset(idx []int) *Set {
	n := s.Size()
	out := &Set{
		X: make([]float32, len(idx)*n), Y: make([]int32, len(idx)*s.Heads),
		N: len(idx), C: s.C, H: s.H, W: s.W, Heads: s.Heads,
		Classes: append([]string(nil), s.Classes...),
	}
	for j, i := range idx {
		copy(out.X[j*n:(j+1)*n], s.Pixels(i))
		copy(out.Y[j*s.Heads:(j+1)*s.Heads], s.Labels(i))
	}
	return out
}

// Gather copies the examples at idx into x (len(idx)*C*H*W values) and y
// (len(idx)*Heads labels), for filling a batch without allocating.
func (s *Set) Gather(idx []int, x []float32, y []int32) {
	n := s.Size()
	for j, i := range idx {
		copy(x[j*n:(j+1)*n], s.Pixels(i))
		copy(y[j*s.Heads:(j+1)*s.Heads], s.Labels(i))
	}
}

// Image returns example i as an image: grey for one channel, RGB for three
// (other channel counts show the first channel in grey).
func (s *Set) Image(i int) image.Image {
	px := s.Pixels(i)
	plane := s.H * s.W
	if s.C == 3 {
		img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
		for p := range plane {
			img.Pix[4*p] = to8(px[p])
			img.Pix[4*p+1] = to8(px[plane+p])
			img.Pix[4*p+2] = to8(px[2*plane+p])
			img.Pix[4*p+3] = 255
		}
		return img
	}
	img := image.NewGray(image.Rect(0, 0, s.W, s.H))
	for p := range plane {
		img.SetGray(p%s.W, p/s.W, color.Gray{Y: to8(px[p])})
	}
	return img
}

// PNG encodes example i as a PNG file.
func (s *Set) PNG(i int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, s.Image(i)); err != nil {
		return nil, fmt.Errorf("dataset: encoding image %d: %w", i, err)
	}
	return buf.Bytes(), nil
}

// PNGBase64 encodes example i as a base64 PNG, small enough to inline in HTML
// or JSON.
func (s *Set) PNGBase64(i int) (string, error) {
	b, err := s.PNG(i)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func to8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 1:
		return 255
	}
	return uint8(v*255 + 0.5)
}
