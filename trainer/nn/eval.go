package nn

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// maxExamples is the number of misclassified test images Evaluate keeps.
const maxExamples = 12

// forwardResult is what a forward pass over a whole set measured.
type forwardResult struct {
	n, heads  int
	headLoss  []float64 // summed over examples
	headRight []int
	allRight  int
	pred      []int32 // n*heads predicted classes
	elapsed   time.Duration
}

// loss is the mean over examples of the loss summed over heads, the same
// quantity training minimises.
func (r *forwardResult) loss() float64 {
	s := 0.0
	for _, l := range r.headLoss {
		s += l
	}
	return s / float64(r.n)
}

// imageAccuracy is the share of examples whose every head was right (the
// plain accuracy for one head).
func (r *forwardResult) imageAccuracy() float64 {
	return float64(r.allRight) / float64(r.n)
}

// charAccuracy is the share of head predictions (characters) that were right.
func (r *forwardResult) charAccuracy() float64 {
	right := 0
	for _, c := range r.headRight {
		right += c
	}
	return float64(right) / float64(r.n*r.heads)
}

// forward runs the evaluation machine over n examples in batches: fill
// writes examples start..start+count-1 into an input slot (count may be less
// than a batch; the rest is zero padding), and visit gets each head's logits
// of the batch. With several batches fill runs on the loader goroutine,
// writing the next batch while the current one runs (see loader.go), so it
// must not touch what visit changes. Evaluation mode needs no batch
// statistics, so padding does not change the real examples' outputs.
func (m *Model) forward(n int, fill func(s *inputSlot, start, count int), visit func(start, count int, logits [][]float32) error) error {
	m.setInference()
	logits := make([][]float32, len(m.logits))
	loader := m.newLoader((n+m.batch-1)/m.batch, func(b int, s *inputSlot) {
		start := b * m.batch
		fill(s, start, min(m.batch, n-start))
	})
	defer loader.close()
	for start := 0; start < n; start += m.batch {
		count := min(m.batch, n-start)
		if err := loader.load(); err != nil {
			return err
		}
		err := m.evalVM.RunAll()
		if err == nil {
			for h, node := range m.logits {
				if logits[h], err = float32s(node.Value()); err != nil {
					break
				}
			}
		}
		if err == nil {
			err = visit(start, count, logits)
		}
		m.evalVM.Reset()
		if err != nil {
			return fmt.Errorf("nn: forward pass: %w", err)
		}
	}
	return nil
}

// forwardSet runs the model over every example of s in evaluation mode.
func (m *Model) forwardSet(s *dataset.Set) (*forwardResult, error) {
	heads := len(m.logits)
	r := &forwardResult{n: s.N, heads: heads, headLoss: make([]float64, heads), headRight: make([]int, heads), pred: make([]int32, s.N*heads)}
	idx := make([]int, m.batch) // the loader's alone
	start := time.Now()
	err := m.forward(s.N, func(slot *inputSlot, from, count int) {
		idx = idx[:count]
		for j := range idx {
			idx[j] = from + j
		}
		m.gather(slot, s, idx)
	}, func(from, count int, logits [][]float32) error {
		for j := range count {
			i := from + j
			all := true
			for h, z := range logits {
				row := z[j*m.classes : (j+1)*m.classes]
				y := int(s.Y[i*heads+h])
				r.headLoss[h] += logSumExp(row) - float64(row[y])
				p := argmax(row)
				r.pred[i*heads+h] = int32(p)
				if p == y {
					r.headRight[h]++
				} else {
					all = false
				}
			}
			if all {
				r.allRight++
			}
		}
		return nil
	})
	r.elapsed = time.Since(start)
	return r, err
}

// Evaluate measures the model on every image of test in evaluation mode: loss,
// accuracy, milliseconds per image of the forward pass, the confusion matrix
// (per character across heads), and up to 12 misclassified images. For several
// heads it also sets ImageAccuracy (all heads right, also put in Accuracy),
// CharAccuracy and PerPosition.
func (m *Model) Evaluate(test *dataset.Set) (runs.TestResult, error) {
	if err := m.checkSet(test); err != nil {
		return runs.TestResult{}, fmt.Errorf("nn: test set: %w", err)
	}
	if test.N == 0 {
		return runs.TestResult{}, errors.New("nn: the test set is empty")
	}
	r, err := m.forwardSet(test)
	if err != nil {
		return runs.TestResult{}, err
	}
	heads := r.heads
	res := runs.TestResult{
		Images:     test.N,
		Loss:       r.loss(),
		MsPerImage: float64(r.elapsed.Microseconds()) / 1000 / float64(test.N),
		Classes:    make([]string, m.classes),
		Confusion:  make([][]int, m.classes),
	}
	for k := range m.classes {
		res.Confusion[k] = make([]int, m.classes)
		res.Classes[k] = fmt.Sprint(k)
		if k < len(test.Classes) {
			res.Classes[k] = test.Classes[k]
		}
	}
	for i := range test.N {
		wrong := false
		for h := range heads {
			y, p := test.Y[i*heads+h], r.pred[i*heads+h]
			res.Confusion[y][p]++
			wrong = wrong || y != p
		}
		if wrong && len(res.Misclassified) < maxExamples {
			ex := runs.Example{Index: i, Truth: test.Label(i), Predicted: test.Name(r.pred[i*heads : (i+1)*heads])}
			if png, err := test.PNGBase64(i); err == nil {
				ex.PNG = png
			}
			res.Misclassified = append(res.Misclassified, ex)
		}
	}
	if heads == 1 {
		res.Accuracy = float64(r.headRight[0]) / float64(test.N)
		return res, nil
	}
	res.Accuracy = r.imageAccuracy()
	res.ImageAccuracy, res.CharAccuracy = runs.Float(res.Accuracy), runs.Float(r.charAccuracy())
	for _, c := range r.headRight {
		res.PerPosition = append(res.PerPosition, float64(c)/float64(test.N))
	}
	return res, nil
}

// Predict returns, for each of the n images in x (n*C*H*W values, NCHW,
// 0..1), the softmax probabilities of every head, heads*classes values.
func (m *Model) Predict(x []float32, n int) ([][]float32, error) {
	return m.outputs(x, n, softmaxRows)
}

// Logits returns, for each of the n images in x (n*C*H*W values, NCHW,
// 0..1), every head's output before its softmax, heads*classes values.
func (m *Model) Logits(x []float32, n int) ([][]float32, error) {
	return m.outputs(x, n, func(dst, z []float32, _ int) { copy(dst, z) })
}

// outputs runs the model over the n images in x and writes each head's
// logits through put into the image's row.
func (m *Model) outputs(x []float32, n int, rows func(dst, z []float32, classes int)) ([][]float32, error) {
	if n < 0 || len(x) != n*m.size {
		return nil, fmt.Errorf("nn: predict: got %d values for %d images of %d values", len(x), n, m.size)
	}
	out := make([][]float32, n)
	err := m.forward(n, func(s *inputSlot, start, count int) {
		buf := s.x.Float32s()
		copy(buf, x[start*m.size:(start+count)*m.size])
		clear(buf[count*m.size:])
		for _, lt := range s.labels {
			clear(lt.Float32s())
		}
	}, func(start, count int, logits [][]float32) error {
		// One allocation for the batch's images, each image's heads side by side.
		heads := len(logits)
		all := make([]float32, count*heads*m.classes)
		var tmp []float32
		for h, z := range logits {
			tmp = slices.Grow(tmp[:0], count*m.classes)[:count*m.classes]
			rows(tmp, z[:count*m.classes], m.classes)
			for j := range count {
				copy(all[(j*heads+h)*m.classes:(j*heads+h+1)*m.classes], tmp[j*m.classes:(j+1)*m.classes])
			}
		}
		for j := range count {
			out[start+j] = all[j*heads*m.classes : (j+1)*heads*m.classes : (j+1)*heads*m.classes]
		}
		return nil
	})
	return out, err
}
