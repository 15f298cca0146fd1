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
// the spec as JSON under "spec" and "format": "trainyard", padded with spaces
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
	meta := map[string]string{"spec": string(specJSON), "format": "trainyard"}
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

// ReadWeights reads a safetensors file written by WriteWeights (or any
// safetensors file of F32 tensors carrying a trainyard spec in its metadata)
// and returns the spec and the tensors by name.
func ReadWeights(r io.Reader) (experiments.Spec, map[string]Tensor, error) {
	spec, _, tensors, err := readSafetensors(r)
	return spec, tensors, err
}

// readSafetensors reads a safetensors file carrying a trainyard spec and
// returns the spec, the metadata and the tensors by name.
func readSafetensors(r io.Reader) (experiments.Spec, map[string]string, map[string]Tensor, error) {
	var spec experiments.Spec
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: reading safetensors header length: %w", err)
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size == 0 || size > maxHeader {
		return spec, nil, nil, fmt.Errorf("nn: safetensors header of %d bytes is not plausible", size)
	}
	hj := make([]byte, size)
	if _, err := io.ReadFull(r, hj); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: reading safetensors header: %w", err)
	}
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
	entries := map[string]stEntry{}
	end := 0
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
			if d < 0 || d > maxHeader {
				return spec, nil, nil, fmt.Errorf("nn: tensor %q has shape %v", name, e.Shape)
			}
			count *= d
		}
		if e.Offsets[0] < 0 || e.Offsets[1]-e.Offsets[0] != 4*count {
			return spec, nil, nil, fmt.Errorf("nn: tensor %q: offsets %v do not fit shape %v", name, e.Offsets, e.Shape)
		}
		entries[name] = e
		end = max(end, e.Offsets[1])
	}
	data := make([]byte, end)
	if _, err := io.ReadFull(r, data); err != nil {
		return spec, nil, nil, fmt.Errorf("nn: reading tensors: %w", err)
	}
	out := make(map[string]Tensor, len(entries))
	for name, e := range entries {
		b := data[e.Offsets[0]:e.Offsets[1]]
		t := Tensor{Shape: e.Shape, Data: make([]float32, len(b)/4)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = t
	}
	return spec, meta, out, nil
}

// Load reads a weights file, rebuilds its model from the spec inside it with
// the given batch size (batch <= 0: the spec's own, at most 256), and sets
// its weights.
func Load(r io.Reader, batch int) (*Model, error) {
	spec, weights, err := ReadWeights(r)
	if err != nil {
		return nil, err
	}
	if batch <= 0 {
		batch = min(max(spec.BatchSize, 1), 256)
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
