package nn

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// allocated returns the bytes fn allocates on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// safetensors returns a file of the given JSON header and data section.
func safetensors(header string, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	return append(append(n[:], header...), data...)
}

// hostileSpecJSON is a spec of about 210 billion parameters, as a JSON string
// inside the metadata.
const hostileSpecJSON = `"{\"dataset\":\"mnist\",\"layers\":[{\"type\":\"conv2d\",\"filters\":4096,\"kernel\":3,\"padding\":\"same\",\"activation\":\"relu\"},{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":65536,\"activation\":\"relu\"},{\"type\":\"dense\",\"units\":10,\"activation\":\"softmax\"}],\"heads\":1,\"optimizer\":\"adam\",\"epochs\":1,\"batch_size\":60000,\"learning_rate\":0.001}"`

// hostileWeights are small files whose headers claim much more than they hold.
func hostileWeights() map[string][]byte {
	meta := `"__metadata__":{"format":"trainyard","spec":` + hostileSpecJSON + `}`
	return map[string][]byte{
		"header of 100 MB":    []byte("\x00\x00\x40\x06\x00\x00\x00\x00{}"),
		"tensor of 4 TB":      safetensors(`{`+meta+`,"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`, make([]byte, 16)),
		"overflowing shape":   safetensors(`{`+meta+`,"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}`, nil),
		"overlapping":         safetensors(`{`+meta+`,"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		"spec of 210B params": safetensors(`{`+meta+`,"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)),
	}
}

// TestHostileWeightsAllocateLittle reads small hostile files, from memory and
// from disk as trainyard eval does: each is refused having allocated no more
// than a few times its size.
func TestHostileWeightsAllocateLittle(t *testing.T) {
	dir := t.TempDir()
	for name, data := range hostileWeights() {
		path := filepath.Join(dir, "w.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var errMem, errFile error
		n := allocated(func() {
			_, errMem = Load(bytes.NewReader(data), 0)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, errFile = Load(f, 0)
			f.Close()
		})
		t.Logf("%s (%d bytes): %v; allocated %d bytes", name, len(data), errFile, n)
		if errMem == nil || errFile == nil {
			t.Errorf("%s: loaded without an error", name)
		}
		if n > 64*uint64(len(data))+1<<20 {
			t.Errorf("%s: a %d-byte file made Load allocate %d bytes", name, len(data), n)
		}
	}
}

// smallWeights is a small valid safetensors file: a spec and two tensors
// (the fuzzer works slowly on large inputs).
func smallWeights() []byte {
	meta := `"__metadata__":{"format":"trainyard","spec":"{\"dataset\":\"mnist\",\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":10,\"activation\":\"softmax\"}]}"}`
	return safetensors(`{`+meta+`,"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}`, make([]byte, 12))
}

// FuzzReadWeights reads arbitrary bytes as a safetensors file: no panic, and
// never much more memory than the input holds.
func FuzzReadWeights(f *testing.F) {
	f.Add(smallWeights())
	for _, data := range hostileWeights() {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var err error
		var w map[string]Tensor
		n := allocated(func() { _, w, err = ReadWeights(bytes.NewReader(data)) })
		if n > 64*uint64(len(data))+1<<20 {
			t.Fatalf("a %d-byte input made ReadWeights allocate %d bytes", len(data), n)
		}
		if err != nil {
			return
		}
		total := 0
		for _, tn := range w {
			total += 4 * len(tn.Data)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of tensors from a %d-byte input", total, len(data))
		}
	})
}
