package trainer

import (
	"fmt"
	"image"
	"math"

	"golang.org/x/image/draw"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/nn"
)

// CharProb is one predicted character (or digit) and its probability.
type CharProb struct {
	Char string  `json:"char"`
	P    float64 `json:"p"`
}

// Prediction is what a model reads in one image: the text ("7F37" or "7")
// and, per head, the most likely class with its probability.
type Prediction struct {
	Text  string     `json:"text"`
	Chars []CharProb `json:"chars"`
}

// ModelInput turns an image into the model's input as spec says: a CAPTCHA
// preprocessed with spec.Preprocessing, or an MNIST digit as 28x28 grey,
// light on dark (a dark digit on a light background is inverted).
func ModelInput(spec experiments.Spec, img image.Image) ([]float32, error) {
	if spec.Dataset == experiments.DatasetCaptcha {
		return PreprocessCaptcha(img, spec.Preprocessing)
	}
	_, h, w := spec.InputShape()
	grey := image.NewGray(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(grey, grey.Bounds(), img, img.Bounds(), draw.Src, nil)
	x := make([]float32, w*h)
	mean := 0.0
	for i, v := range grey.Pix {
		x[i] = float32(v) / 255
		mean += float64(x[i])
	}
	if mean/float64(len(x)) > 0.5 {
		for i := range x {
			x[i] = 1 - x[i]
		}
	}
	return x, nil
}

// Predict reads one image with m.
func Predict(m *nn.Model, img image.Image) (Prediction, error) {
	spec := m.Spec()
	x, err := ModelInput(spec, img)
	if err != nil {
		return Prediction{}, err
	}
	probs, err := m.Predict(x, 1)
	if err != nil {
		return Prediction{}, err
	}
	classes := CaptchaClasses()
	if spec.Dataset != experiments.DatasetCaptcha {
		classes = make([]string, spec.Classes())
		for i := range classes {
			classes[i] = fmt.Sprint(i)
		}
	}
	k := spec.Classes()
	var out Prediction
	for h := range max(spec.Heads, 1) {
		row := probs[0][h*k : (h+1)*k]
		best := 0
		for i, p := range row {
			if p > row[best] {
				best = i
			}
		}
		p := math.Round(float64(row[best])*10000) / 10000
		out.Chars = append(out.Chars, CharProb{Char: classes[best], P: p})
		out.Text += classes[best]
	}
	return out, nil
}
