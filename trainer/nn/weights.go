package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/trainyard/trainyard/experiments"
)

// Tensor is a named weight's shape and values, row-major.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Weights returns a copy of every weight of the model by name: trainable
// ones ("conv2d_1.weight", "dense_2.bias", ...) and batch normalisation's
// moving statistics ("batch_normalization_1.moving_mean", ".moving_variance").
// Dense weights are (in, out) as in Keras; convolution weights are
// (filters, in channels, k, k) as in PyTorch.
func (m *Model) Weights() map[string]Tensor {
	w := map[string]Tensor{}
	for _, p := range m.params {
		w[p.name] = Tensor{Shape: slices.Clone(p.shape), Data: slices.Clone(p.data())}
	}
	for _, n := range m.norms {
		w[n.name+".moving_mean"] = Tensor{Shape: []int{n.channels}, Data: slices.Clone(n.movingMean)}
		w[n.name+".moving_variance"] = Tensor{Shape: []int{n.channels}, Data: slices.Clone(n.movingVar)}
	}
	return w
}

// SetWeights copies weights into the model. Every weight of the model must be
// present with its shape; extra names are an error too.
func (m *Model) SetWeights(w map[string]Tensor) error {
	dst, err := m.checkWeights(w)
	if err != nil {
		return err
	}
	for name, d := range dst {
		copy(d, w[name].Data)
	}
	m.mode.WeightsChanged()
	return nil
}

// checkWeights reports whether w holds exactly the model's weights with their
// shapes, and returns the model's storage of each by name.
func (m *Model) checkWeights(w map[string]Tensor) (map[string][]float32, error) {
	dst := map[string][]float32{}
	shapes := map[string][]int{}
	for _, p := range m.params {
		dst[p.name], shapes[p.name] = p.data(), p.shape
	}
	for _, n := range m.norms {
		dst[n.name+".moving_mean"], shapes[n.name+".moving_mean"] = n.movingMean, []int{n.channels}
		dst[n.name+".moving_variance"], shapes[n.name+".moving_variance"] = n.movingVar, []int{n.channels}
	}
	for name := range w {
		if _, ok := dst[name]; !ok {
			return nil, fmt.Errorf("nn: the model has no weight %q", name)
		}
	}
	for name, d := range dst {
		t, ok := w[name]
		if !ok {
			return nil, fmt.Errorf("nn: weight %q is missing", name)
		}
		if !slices.Equal(t.Shape, shapes[name]) || len(t.Data) != len(d) {
			return nil, fmt.Errorf("nn: weight %q has shape %v, want %v", name, t.Shape, shapes[name])
		}
	}
	return dst, nil
}

// Layout says, in the weights file's metadata ("layout"), how to compute the
// model from its tensors without trainyard; the README shows it as code.
const Layout = "inputs: float32 NCHW (batch, channels, height, width), pixels scaled to 0..1 (value/255); " +
	"MNIST is 1x28x28, CAPTCHAs 1x50x130 with dn preprocessing or 3x50x130 (RGB) with nopre. " +
	"conv2d_N.weight: [out, in, kh, kw] (PyTorch's Conv2d layout, cross-correlation, stride 1), conv2d_N.bias: [out]; padding valid, or same as in Keras: (k-1)//2 before and the rest after. " +
	"max_pooling2d: window and stride = pool, no padding, floor. " +
	"batch_normalization_N: per channel y = weight*(x-moving_mean)/sqrt(moving_variance+0.001)+bias. " +
	"flatten: channel-major, (batch, c*h*w), as x.reshape(batch, -1) of NCHW in numpy or PyTorch (not Keras's HWC order). " +
	"dense_N.weight: [in, out] (Keras's layout: y = x @ weight + bias; PyTorch's Linear wants its transpose), dense_N.bias: [out]. " +
	"dropout: identity at inference. activation relu where the spec says so; the output layer's softmax is left out of the logits. " +
	"Multi-head models (CAPTCHAs) have one output layer per head, dense_N.head_1 ... dense_N.head_H, on the same trunk; " +
	"head h predicts character h. The spec (metadata \"spec\") lists the layers in order."

// safetensors header entries.
type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 100 << 20

// WriteWeights writes the model's weights as a safetensors file: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype
// (F32), shape and byte offsets, sorted by name, with "__metadata__" holding
// the spec as JSON under "spec", "format": "trainyard" and the tensors'
// layout (Layout) under "layout", padded with spaces
// to a multiple of 8 bytes; then the tensors' little-endian bytes.
func (m *Model) WriteWeights(w io.Writer) error {
	return writeSafetensors(w, m.spec, m.Weights(), nil)
}

// writeSafetensors writes weights as safetensors with the spec and the extra
// entries in the metadata.
func writeSafetensors(w io.Writer, spec experiments.Spec, weights map[string]Tensor, extra map[string]string) error {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("nn: encoding spec: %w", err)
	}
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	slices.Sort(names)
	meta := map[string]string{"spec": string(specJSON), "format": "trainyard", "layout": Layout}
	for k, v := range extra {
		meta[k] = v
	}
	header := map[string]any{"__metadata__": meta}
	off := 0
	for _, name := range names {
		t := weights[name]
		header[name] = stEntry{DType: "F32", Shape: t.Shape, Offsets: [2]int{off, off + 4*len(t.Data)}}
		off += 4 * len(t.Data)
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("nn: encoding safetensors header: %w", err)
	}
	if pad := (8 - len(hj)%8) % 8; pad > 0 {
		hj = append(hj, bytes.Repeat([]byte{' '}, pad)...)
	}
	bw := bufio.NewWriter(w)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hj)))
	bw.Write(n[:])
	bw.Write(hj)
	var b [4]byte
	for _, name := range names {
		for _, v := range weights[name].Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("nn: writing weights: %w", err)
	}
	return nil
}

// maxTensorFloats bounds one tensor's element count, so that byte offsets
// cannot overflow.
const maxTensorFloats = 1 << 60

// readChunk is how much ReadWeights reads at a time from a reader of unknown
// size, so that what it allocates grows with what actually arrives.
const readChunk = 1 << 20

// unread returns how many bytes r has left when that can be known: a regular
// file, or a reader with Len (bytes.Reader, strings.Reader, bytes.Buffer).
func unread(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return 0, false
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return st.Size() - pos, true
	case interface{ Len() int }:
		return int64(v.Len()), true
	}
	return 0, false
}

// readBytes reads n bytes, allocating them up front only when r is known to
// hold them, else a chunk at a time as they arrive.
func readBytes(r io.Reader, n int64, known bool) ([]byte, error) {
	if known {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var b []byte
	for int64(len(b)) < n {
		chunk := min(n-int64(len(b)), readChunk)
		b = slices.Grow(b, int(chunk))
		m, err := io.ReadFull(r, b[len(b):len(b)+int(chunk)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// ReadWeights reads a safetensors file written by WriteWeights (or any
// safetensors file of F32 tensors carrying a trainyard spec in its metadata)
// and returns the spec and the tensors by name. A hostile header cannot make
// it allocate much more than the file holds: lengths and offsets are checked
// against the file's size (when r is a file or has Len) before anything is
// allocated, and otherwise memory grows only as bytes arrive; the tensors
// must tile the data section exactly, as the format requires.
func ReadWeights(r io.Reader) (experiments.Spec, map[string]Tensor, error) {
	spec, _, tensors, err := readSafetensors(r)
	return spec, tensors, err
}

// readSafetensors reads a safetensors file carrying a trainyard spec and
// returns the spec, the metadata and the tensors by name, with the checks
// ReadWeights describes.
func readSafetensors(r io.Reader) (experiments.Spec, map[string]string, map[string]Tensor, error) {
	var spec experiments.Spec
	left, known := unread(r)
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: reading safetensors header length: %w", err)
	}
	left -= 8
	size := binary.LittleEndian.Uint64(n[:])
	if size == 0 || size > maxHeader || (known && size > uint64(left)) {
		return spec, nil, nil, fmt.Errorf("nn: safetensors header of %d bytes is not plausible", size)
	}
	hj, err := readBytes(r, int64(size), known)
	if err != nil {
		return spec, nil, nil, fmt.Errorf("nn: reading safetensors header: %w", err)
	}
	left -= int64(size)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hj, &raw); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: safetensors header is not JSON: %w", err)
	}
	var meta map[string]string
	if mj, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(mj, &meta); err != nil {
			return spec, nil, nil, fmt.Errorf("nn: safetensors metadata: %w", err)
		}
		delete(raw, "__metadata__")
	}
	if meta["spec"] == "" {
		return spec, nil, nil, errors.New("nn: the weights file carries no trainyard spec in its metadata")
	}
	if err := json.Unmarshal([]byte(meta["spec"]), &spec); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: the spec in the weights file: %w", err)
	}
	type named struct {
		name string
		stEntry
	}
	entries := make([]named, 0, len(raw))
	for name, msg := range raw {
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return spec, nil, nil, fmt.Errorf("nn: safetensors entry %q: %w", name, err)
		}
		if e.DType != "F32" {
			return spec, nil, nil, fmt.Errorf("nn: tensor %q is %s, only F32 is supported", name, e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > maxTensorFloats/d) {
				return spec, nil, nil, fmt.Errorf("nn: tensor %q has shape %v", name, e.Shape)
			}
			count *= d
		}
		if e.Offsets[0] < 0 || e.Offsets[1]-e.Offsets[0] != 4*count {
			return spec, nil, nil, fmt.Errorf("nn: tensor %q: offsets %v do not fit shape %v", name, e.Offsets, e.Shape)
		}
		entries = append(entries, named{name, e})
	}
	slices.SortFunc(entries, func(a, b named) int { return a.Offsets[0] - b.Offsets[0] })
	end := 0
	for _, e := range entries {
		if e.Offsets[0] != end {
			return spec, nil, nil, fmt.Errorf("nn: tensor %q starts at byte %d of the data, want %d: tensors must follow each other without gaps or overlaps", e.name, e.Offsets[0], end)
		}
		end = e.Offsets[1]
	}
	if known && int64(end) > left {
		return spec, nil, nil, fmt.Errorf("nn: the header describes %d bytes of tensors, the file holds %d", end, left)
	}
	out := make(map[string]Tensor, len(entries))
	buf := make([]byte, min(end, readChunk))
	for _, e := range entries {
		count := (e.Offsets[1] - e.Offsets[0]) / 4
		data := make([]float32, 0, min(count, readChunk))
		if known {
			data = make([]float32, 0, count)
		}
		for len(data) < count {
			b := buf[:4*min(count-len(data), len(buf)/4)]
			if _, err := io.ReadFull(r, b); err != nil {
				return spec, nil, nil, fmt.Errorf("nn: reading tensor %q: %w", e.name, err)
			}
			for i := 0; i < len(b); i += 4 {
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
			}
		}
		out[e.name] = Tensor{Shape: e.Shape, Data: data}
	}
	return spec, meta, out, nil
}

// autoBatchBudget is the memory, at least, that the activations of a model
// Load rebuilds at its own batch size may take; a weights file larger than
// this allows as much as it holds.
const autoBatchBudget = 256 << 20

// Load reads a weights file, rebuilds its model from the spec inside it with
// the given batch size, and sets its weights. With batch <= 0 it takes the
// spec's own batch size, at most 256, lowered so that the activations fit in
// the larger of 256 MiB and the file's weights; a spec whose single image
// does not fit is refused. A spec with more parameters than the file holds is
// refused before anything is built, so a small hostile file cannot make Load
// allocate a large model.
func Load(r io.Reader, batch int) (*Model, error) {
	spec, weights, err := ReadWeights(r)
	if err != nil {
		return nil, err
	}
	floats := 0
	for _, t := range weights {
		floats += len(t.Data)
	}
	if p := spec.Summarize().TotalParams; p < 0 || p > floats {
		return nil, fmt.Errorf("nn: the spec in the weights file has %d parameters, the file holds %d values", p, floats)
	}
	if batch <= 0 {
		if batch, err = autoBatch(spec, floats); err != nil {
			return nil, err
		}
	}
	m, err := Build(spec, batch)
	if err != nil {
		return nil, err
	}
	if err := m.SetWeights(weights); err != nil {
		return nil, err
	}
	return m, nil
}

// autoBatch is the batch size Load uses when none is given (see Load).
func autoBatch(spec experiments.Spec, floats int) (int, error) {
	c, h, w := spec.InputShape()
	values := float64(c) * float64(h) * float64(w)
	shapes, _ := spec.Shapes()
	for _, s := range shapes {
		if s.Out.Flat {
			values += float64(s.Out.C)
		} else {
			values += float64(s.Out.C) * float64(s.Out.H) * float64(s.Out.W)
		}
	}
	// Each value is held about twice (the node's value and the op's
	// workspace), as float32.
	perImage := 8 * values * float64(max(spec.Heads, 1))
	budget := float64(max(autoBatchBudget, 4*floats))
	fit := budget / perImage
	if fit < 1 {
		return 0, fmt.Errorf("nn: the model in the weights file needs about %.0f MiB per image, over the %d MiB allowed", perImage/(1<<20), int(budget)>>20)
	}
	return int(min(float64(max(spec.BatchSize, 1)), 256, fit)), nil
}
