package web

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/trainyard/trainyard/experiments"
)

// layerFields are the parameter inputs of a layer row, in the order shown.
func layerFields() []string {
	return []string{"type", "units", "filters", "kernel", "padding", "pool", "rate", "activation"}
}

// formFieldKeys are the error keys the form shows next to an input of its
// own; any other key is listed at the top of the form.
func formFieldKeys() []string {
	return []string{
		"name", "preset", "repeats", "dataset", "layers", "heads", "optimizer", "device", "epochs", "batch_size",
		"learning_rate", "train_fraction", "val_fraction", "train_limit", "seed",
		"early_stopping.patience", "early_stopping.min_delta",
		"reduce_lr.factor", "reduce_lr.patience", "reduce_lr.min_lr",
	}
}

// formState is the form as first drawn: the spec, its origin and the errors.
type formState struct {
	Name     string
	Preset   string
	Repeats  int
	Spec     experiments.Spec
	Presets  []experiments.Preset
	Errors   map[string]string
	Captcha  bool
	Summary  experiments.Summary
	SpecJSON string
	Estimate string
	// Sweep is the submitted sweep whose lists and ranges the fields show again.
	Sweep *experiments.Sweep
}

// newFormState resolves the props into what the form draws: a zero Spec
// starts from the named preset (or the first one offered).
func newFormState(p NewExperimentProps) formState {
	st := formState{Name: p.Name, Preset: p.Preset, Repeats: p.Repeats, Spec: p.Spec, Errors: p.Errors, Captcha: p.CaptchaEnabled, Estimate: p.Estimate, Sweep: p.Sweep}
	for _, pr := range p.Presets {
		if p.CaptchaEnabled || pr.Spec.Dataset != experiments.DatasetCaptcha {
			st.Presets = append(st.Presets, pr)
		}
	}
	if st.Repeats < 1 {
		st.Repeats = 1
	}
	if len(st.Spec.Layers) == 0 && st.Spec.Epochs == 0 {
		st.Spec = experiments.FormDefaults()
		found := false
		for _, pr := range st.Presets {
			if pr.Name == st.Preset {
				st.Spec, found = pr.Spec.Clone(), true
			}
		}
		if !found && st.Preset == "" && len(st.Presets) > 0 {
			st.Preset, st.Spec = st.Presets[0].Name, st.Presets[0].Spec.Clone()
		}
	}
	if st.Errors == nil {
		st.Errors = map[string]string{}
	}
	st.Summary = st.Spec.Summarize()
	b, err := json.Marshal(st.Spec)
	if err == nil {
		st.SpecJSON = string(b)
	}
	return st
}

// err is the message for a field, or "".
func (st formState) err(key string) string { return st.Errors[key] }

// invalid is the CSS class of an input whose field has an error.
func (st formState) invalid(key string) string {
	if st.Errors[key] != "" {
		return "invalid"
	}
	return ""
}

// layerKey is the error key of a layer's field ("layers[2].kernel"), or of
// the layer itself when field is "".
func layerKey(i int, field string) string {
	k := "layers[" + itoa(i) + "]"
	if field != "" {
		k += "." + field
	}
	return k
}

// setting is a labelled line: an error message under its field key.
type setting struct {
	Label, Value string
}

// layerErrors lists a layer's errors, the layer's own first, then by field.
func (st formState) layerErrors(i int) []setting {
	var out []setting
	if m := st.Errors[layerKey(i, "")]; m != "" {
		out = append(out, setting{"", m})
	}
	for _, f := range layerFields() {
		if m := st.Errors[layerKey(i, f)]; m != "" {
			out = append(out, setting{f, m})
		}
	}
	return out
}

// otherErrors lists the errors that have no input of their own on the form,
// sorted by key, so no message is ever lost.
func (st formState) otherErrors() []setting {
	known := map[string]bool{}
	for _, k := range formFieldKeys() {
		known[k] = true
	}
	for i := range st.Spec.Layers {
		known[layerKey(i, "")] = true
		for _, f := range layerFields() {
			known[layerKey(i, f)] = true
		}
	}
	var out []setting
	for k, m := range st.Errors {
		if !known[k] {
			out = append(out, setting{k, m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// presetNames are the names of the presets offered, in order.
func (st formState) presetNames() []string {
	var names []string
	for _, p := range st.Presets {
		names = append(names, p.Name)
	}
	return names
}

// hasPreset reports whether the current preset is among those offered.
func (st formState) hasPreset() bool {
	for _, p := range st.Presets {
		if p.Name == st.Preset {
			return true
		}
	}
	return false
}

// presetDescription is the line shown under the preset select.
func (st formState) presetDescription() string {
	for _, p := range st.Presets {
		if p.Name == st.Preset {
			return p.Description
		}
	}
	return ""
}

// trainLimitValue is the train_limit input's value: empty for no cap.
func (st formState) trainLimitValue() string {
	if st.Spec.TrainLimit == 0 {
		return ""
	}
	return itoa(st.Spec.TrainLimit)
}

// formData is handed to experiment-form.js.
type formData struct {
	Spec    experiments.Spec     `json:"spec"`
	Errors  map[string]string    `json:"errors"`
	Presets []experiments.Preset `json:"presets"`
	// MaxRepeats is the most seeds one submission may queue.
	MaxRepeats int `json:"max_repeats"`
	// Sweep is the submitted sweep, null for none.
	Sweep *experiments.Sweep `json:"sweep"`
	// CaptchaDefaults is the source and preprocessing a spec switched to
	// CAPTCHA starts with.
	CaptchaDefaults captchaForm `json:"captcha_defaults"`
}

func (st formState) data() formData {
	presets := st.Presets
	if presets == nil {
		presets = []experiments.Preset{}
	}
	return formData{Spec: st.Spec, Errors: st.Errors, Presets: presets, MaxRepeats: experiments.MaxRepeats, Sweep: st.Sweep, CaptchaDefaults: captchaDefaults()}
}

// esPatience and friends are the callback inputs' values, with Keras-like
// defaults shown while a callback is off.
func (st formState) esPatience() string {
	if st.Spec.EarlyStopping == nil {
		return "10"
	}
	return itoa(st.Spec.EarlyStopping.Patience)
}

func (st formState) esRestore() bool {
	return st.Spec.EarlyStopping == nil || st.Spec.EarlyStopping.RestoreBest
}

func (st formState) rlrFactor() string {
	if st.Spec.ReduceLR == nil {
		return "0.5"
	}
	return num(st.Spec.ReduceLR.Factor)
}

func (st formState) rlrPatience() string {
	if st.Spec.ReduceLR == nil {
		return "5"
	}
	return itoa(st.Spec.ReduceLR.Patience)
}

func (st formState) rlrMinLR() string {
	if st.Spec.ReduceLR == nil {
		return "0.00001"
	}
	return num(st.Spec.ReduceLR.MinLR)
}

// layerTypes are the layer types the editor offers.
func layerTypes() []string {
	return []string{
		experiments.LayerDense, experiments.LayerConv2D, experiments.LayerMaxPool2D,
		experiments.LayerDropout, experiments.LayerFlatten, experiments.LayerBatchNorm,
	}
}

// intValue writes a layer's integer field, empty when zero so the input shows
// its placeholder.
func intValue(v int) string {
	if v == 0 {
		return ""
	}
	return itoa(v)
}

// isLayerType reports whether t is a layer type the editor offers.
func isLayerType(t string) bool {
	for _, lt := range layerTypes() {
		if lt == t {
			return true
		}
	}
	return false
}

// sweepText is what a sweepable field shows: the submitted sweep's list
// ("0.001, 0.0003") or range ("0.0001..0.01") for it, else the spec's value.
func (st formState) sweepText(name, value string) string {
	if st.Sweep == nil {
		return value
	}
	v, ok := st.Sweep.Params[name]
	if !ok {
		return value
	}
	if r := v.LogUniform; r != nil {
		return num(r[0]) + ".." + num(r[1])
	}
	if r := v.Uniform; r != nil {
		return num(r[0]) + ".." + num(r[1])
	}
	parts := make([]string, len(v.List))
	for i, x := range v.List {
		parts[i] = num(x)
	}
	return strings.Join(parts, ", ")
}

func (st formState) sweepMode() string {
	if st.Sweep != nil && st.Sweep.Mode == "random" {
		return "random"
	}
	return "grid"
}

func (st formState) sweepSamples() int {
	if st.Sweep != nil && st.Sweep.Samples > 0 {
		return st.Sweep.Samples
	}
	return 8
}

func (st formState) sweepSteps() int {
	if st.Sweep != nil {
		for _, v := range st.Sweep.Params {
			if v.Steps > 0 {
				return v.Steps
			}
		}
	}
	return 3
}

// ashaOn and friends are the successive-halving inputs: the submitted
// sweep's asha block, else off with eta 3 from epoch 1 by val_loss.
func (st formState) ashaOn() bool { return st.Sweep != nil && st.Sweep.ASHA != nil }

func (st formState) ashaMetric() string {
	if st.ashaOn() {
		return st.Sweep.ASHA.Metric
	}
	return "val_loss"
}

func (st formState) ashaMinEpochs() int {
	if st.ashaOn() {
		return st.Sweep.ASHA.MinEpochs
	}
	return 1
}

func (st formState) ashaEta() int {
	if st.ashaOn() {
		return st.Sweep.ASHA.Eta
	}
	return 3
}
