package experiments

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzSpec decodes hostile JSON into a Spec and runs everything a request
// runs on it: validation, the summary, the estimate and admission. None may
// panic, and what they return must hold together.
func FuzzSpec(f *testing.F) {
	for _, p := range Presets() {
		b, _ := json.Marshal(p.Spec)
		f.Add(b)
	}
	limits := Limits{MaxMemoryBytes: 8 << 30, MaxParams: DefaultMaxParams}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		verr := s.Validate()
		var ve *ValidationError
		if verr != nil && (!errors.As(verr, &ve) || len(ve.Fields) == 0) {
			t.Fatalf("Validate = %v, want nil or field errors", verr)
		}
		sum := s.Summarize()
		if len(sum.Layers) != len(s.Layers) {
			t.Fatalf("summary has %d rows for %d layers", len(sum.Layers), len(s.Layers))
		}
		e := s.Estimate(Machine{Workers: 2, GFLOPS: 40, DatasetImages: 1000})
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("estimate does not encode: %v", err)
		}
		if _ = e.Text(); verr != nil {
			return
		}
		// A valid spec: every count is sane and admission answers per field.
		if e.Params != int64(sum.TotalParams) || e.MemoryBytes <= 0 || e.ActivationBytes <= 0 ||
			e.FLOPsPerImage <= 0 || e.EpochSeconds <= 0 || e.MemoryField == "" {
			t.Fatalf("estimate of a valid spec: %+v", e)
		}
		if err := e.Admit(limits); err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Admit = %v, want field errors", err)
			}
			if e.MemoryBytes <= limits.MaxMemoryBytes && e.Params <= limits.MaxParams {
				t.Fatalf("refused a spec within the limits: %v", err)
			}
		} else if e.MemoryBytes > limits.MaxMemoryBytes || e.Params > limits.MaxParams {
			t.Fatalf("admitted %d bytes and %d params", e.MemoryBytes, e.Params)
		}
	})
}
