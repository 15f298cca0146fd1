package experiments

import "testing"

func TestPresetParamCounts(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		"mnist-nn1":      203530,
		"mnist-nn2":      407050,
		"mnist-cnn1":     297706,
		"mnist-cnn2":     242062,
		"captcha-model1": 866412,
		"captcha-model2": 880300,
	}
	for _, p := range Presets() {
		if err := p.Spec.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		got := p.Spec.Summarize().TotalParams
		if got != want[p.Name] {
			t.Errorf("%s: total params = %d, want %d", p.Name, got, want[p.Name])
		}
	}
	if len(Presets()) != len(want) {
		t.Errorf("got %d presets, want %d", len(Presets()), len(want))
	}
}
