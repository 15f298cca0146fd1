package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Sweep varies numeric settings of a spec: a grid of every combination of
// the listed values, or random samples from ranges. Each point is trained
// once per repeat (seed, seed+1, ...).
type Sweep struct {
	// Mode is "grid" (default) or "random".
	Mode string `json:"mode"`
	// Params maps a setting to its values: epochs, batch_size, learning_rate,
	// train_limit, dropout (every Dropout layer's rate), or one layer's
	// layers[N].units, layers[N].filters, layers[N].rate, layers[N].kernel.
	Params map[string]SweepValues `json:"params"`
	// Samples is how many random points to draw (random mode).
	Samples int `json:"samples"`
	// ASHA stops the weaker runs early at rungs (successive halving).
	ASHA *ASHA `json:"asha,omitempty"`
}

// SweepValues is a list of values, or a range: uniform or log-uniform
// between two bounds, sampled in random mode or spread over Steps points
// (evenly, or evenly in log space) in grid mode.
type SweepValues struct {
	List       []float64
	Uniform    *[2]float64
	LogUniform *[2]float64
	Steps      int
}

// UnmarshalJSON reads [0.001, 0.0003], {"log_uniform": [0.0001, 0.01]},
// {"uniform": [0.1, 0.5], "steps": 5}.
func (v *SweepValues) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &v.List)
	}
	var r struct {
		Uniform    *[2]float64 `json:"uniform"`
		LogUniform *[2]float64 `json:"log_uniform"`
		Steps      int         `json:"steps"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return errors.New(`values are a list ([0.001, 0.0003]) or a range ({"log_uniform": [0.0001, 0.01]} or {"uniform": [a, b]}, with "steps" for a grid)`)
	}
	v.Uniform, v.LogUniform, v.Steps = r.Uniform, r.LogUniform, r.Steps
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (v SweepValues) MarshalJSON() ([]byte, error) {
	if v.Uniform == nil && v.LogUniform == nil {
		if v.List == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.List)
	}
	m := map[string]any{}
	if v.Uniform != nil {
		m["uniform"] = v.Uniform
	}
	if v.LogUniform != nil {
		m["log_uniform"] = v.LogUniform
	}
	if v.Steps > 0 {
		m["steps"] = v.Steps
	}
	return json.Marshal(m)
}

// ASHA is asynchronous successive halving: rungs at epochs MinEpochs,
// MinEpochs*Eta, MinEpochs*Eta², ...; at each rung a run outside the top
// 1/Eta of the runs that reached it (by Metric) stops.
type ASHA struct {
	// Metric is val_loss or loss (lower is better), val_accuracy or accuracy.
	Metric    string `json:"metric"`
	MinEpochs int    `json:"min_epochs"`
	Eta       int    `json:"eta"`
}

// LowerIsBetter reports whether a smaller value of the metric ranks higher
// (the losses).
func (a ASHA) LowerIsBetter() bool { return a.Metric == "val_loss" || a.Metric == "loss" }

// Rungs returns the epochs at which runs of up to maxEpochs are compared.
func (a ASHA) Rungs(maxEpochs int) []int {
	var out []int
	for r := a.MinEpochs; r < maxEpochs && a.Eta >= 2; r *= a.Eta {
		out = append(out, r)
	}
	return out
}

// Sweep limits.
const (
	MaxSweepPoints = 1000
	MaxSweepParams = 8
	MaxSweepList   = 100
)

// SweepPoint is one configuration of a sweep: its spec and the values the
// sweep chose for it.
type SweepPoint struct {
	Spec   Spec               `json:"spec"`
	Values map[string]float64 `json:"values"`
}

var layerParam = regexp.MustCompile(`^layers\[(\d{1,3})\]\.(units|filters|rate|kernel)$`)

// integer settings take whole values; a range over them is rounded.
func integerParam(name string) bool {
	switch name {
	case "learning_rate", "dropout":
		return false
	}
	return !strings.HasSuffix(name, ".rate")
}

// sweepSet applies one value to a copy of spec; ok is false for a setting
// the spec does not have (a layer index past its layers, a rate on a Dense).
func sweepSet(spec *Spec, name string, v float64) error {
	iv := int(math.Round(v))
	switch name {
	case "epochs":
		spec.Epochs = iv
	case "batch_size":
		spec.BatchSize = iv
	case "learning_rate":
		spec.LearningRate = v
	case "train_limit":
		spec.TrainLimit = iv
	case "dropout":
		n := 0
		for i := range spec.Layers {
			if spec.Layers[i].Type == LayerDropout {
				spec.Layers[i].Rate = v
				n++
			}
		}
		if n == 0 {
			return errors.New("the model has no Dropout layer")
		}
	default:
		m := layerParam.FindStringSubmatch(name)
		if m == nil {
			return fmt.Errorf("cannot sweep %q: use epochs, batch_size, learning_rate, train_limit, dropout or layers[N].units|filters|rate|kernel", clipText(name, 40))
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(spec.Layers) {
			return fmt.Errorf("the model has %d layers (layers[0] to layers[%d])", len(spec.Layers), len(spec.Layers)-1)
		}
		l := &spec.Layers[i]
		switch {
		case m[2] == "units" && l.Type == LayerDense:
			l.Units = iv
		case m[2] == "filters" && l.Type == LayerConv2D:
			l.Filters = iv
		case m[2] == "kernel" && l.Type == LayerConv2D:
			l.Kernel = iv
		case m[2] == "rate" && l.Type == LayerDropout:
			l.Rate = v
		default:
			return fmt.Errorf("layers[%d] is a %s: it has no %s", i, l.Type, m[2])
		}
	}
	return nil
}

// values returns the grid values of v, or an error about them.
func (v SweepValues) grid(name string) ([]float64, error) {
	if v.Uniform == nil && v.LogUniform == nil {
		if len(v.List) == 0 {
			return nil, errors.New("give at least one value")
		}
		if len(v.List) > MaxSweepList {
			return nil, fmt.Errorf("at most %d values, got %d", MaxSweepList, len(v.List))
		}
		return v.List, nil
	}
	lo, hi, log, err := v.bounds()
	if err != nil {
		return nil, err
	}
	if v.Steps < 2 || v.Steps > MaxSweepList {
		return nil, fmt.Errorf(`a range in a grid needs "steps" between 2 and %d`, MaxSweepList)
	}
	out := make([]float64, v.Steps)
	for i := range out {
		f := float64(i) / float64(v.Steps-1)
		if log {
			out[i] = round12(math.Exp(math.Log(lo) + f*(math.Log(hi)-math.Log(lo))))
		} else {
			out[i] = round12(lo + f*(hi-lo))
		}
		if integerParam(name) {
			out[i] = math.Round(out[i])
		}
	}
	return slices.Compact(out), nil
}

// round12 keeps 12 significant digits, so a log grid from 0.0001 to 0.01
// has 0.001 and not 0.0010000000000000002.
func round12(x float64) float64 {
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return y
}

func (v SweepValues) bounds() (lo, hi float64, log bool, err error) {
	if v.Uniform != nil && v.LogUniform != nil {
		return 0, 0, false, errors.New("give uniform or log_uniform, not both")
	}
	r := v.Uniform
	if v.LogUniform != nil {
		r, log = v.LogUniform, true
	}
	lo, hi = r[0], r[1]
	switch {
	case math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo >= hi:
		return 0, 0, false, fmt.Errorf("a range is [low, high] with low < high, got [%g, %g]", lo, hi)
	case log && lo <= 0:
		return 0, 0, false, fmt.Errorf("a log_uniform range needs low > 0, got %g", lo)
	}
	return lo, hi, log, nil
}

func (v SweepValues) sample(name string, rng *rand.Rand) float64 {
	if v.Uniform == nil && v.LogUniform == nil {
		return v.List[rng.IntN(len(v.List))]
	}
	lo, hi, log, _ := v.bounds()
	var x float64
	if log {
		x = math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	} else {
		x = lo + rng.Float64()*(hi-lo)
	}
	if integerParam(name) {
		x = math.Round(x)
	}
	return x
}

// Expand returns the sweep's points over base (a grid in the order of the
// parameters' names, or Samples random draws seeded by base.Seed), each
// spec validated. Field errors are keyed sweep.mode, sweep.samples,
// sweep.params.<name> and sweep.asha.<field>, all at once.
func (s Sweep) Expand(base Spec) ([]SweepPoint, error) {
	errs := map[string]string{}
	mode := s.Mode
	if mode == "" {
		mode = "grid"
	}
	if mode != "grid" && mode != "random" {
		errs["sweep.mode"] = fmt.Sprintf("mode is grid or random, got %q", clipText(s.Mode, 20))
	}
	if len(s.Params) == 0 {
		errs["sweep.params"] = "name at least one setting to sweep"
	}
	if len(s.Params) > MaxSweepParams {
		errs["sweep.params"] = fmt.Sprintf("at most %d settings, got %d", MaxSweepParams, len(s.Params))
	}
	names := make([]string, 0, len(s.Params))
	for name := range s.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	grids := map[string][]float64{}
	for _, name := range names {
		key := "sweep.params." + clipText(name, 40)
		probe := base.Clone()
		if err := sweepSet(&probe, name, 1); err != nil {
			errs[key] = err.Error()
			continue
		}
		v := s.Params[name]
		if mode == "grid" {
			g, err := v.grid(name)
			if err != nil {
				errs[key] = err.Error()
				continue
			}
			grids[name] = g
		} else if v.Uniform != nil || v.LogUniform != nil {
			if _, _, _, err := v.bounds(); err != nil {
				errs[key] = err.Error()
			}
		} else if len(v.List) == 0 || len(v.List) > MaxSweepList {
			errs[key] = fmt.Sprintf("give 1 to %d values", MaxSweepList)
		}
	}
	if mode == "random" && (s.Samples < 1 || s.Samples > MaxSweepPoints) {
		errs["sweep.samples"] = fmt.Sprintf("a random sweep draws 1 to %d samples", MaxSweepPoints)
	}
	if mode == "grid" && s.Samples != 0 {
		errs["sweep.samples"] = "samples are for a random sweep; a grid trains every combination"
	}
	if a := s.ASHA; a != nil {
		if a.Metric != "val_loss" && a.Metric != "val_accuracy" && a.Metric != "accuracy" && a.Metric != "loss" {
			errs["sweep.asha.metric"] = "metric is val_loss, val_accuracy, loss or accuracy"
		}
		if a.MinEpochs < 1 || a.MinEpochs > MaxEpochs {
			errs["sweep.asha.min_epochs"] = fmt.Sprintf("min_epochs must be 1..%d", MaxEpochs)
		}
		if a.Eta < 2 || a.Eta > 10 {
			errs["sweep.asha.eta"] = "eta must be 2..10"
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}

	var points []map[string]float64
	if mode == "grid" {
		total := 1
		for _, name := range names {
			total *= len(grids[name])
			if total > MaxSweepPoints {
				return nil, &ValidationError{Fields: map[string]string{"sweep.params": fmt.Sprintf("the grid has over %d points; sweep fewer values", MaxSweepPoints)}}
			}
		}
		points = []map[string]float64{{}}
		for _, name := range names {
			var next []map[string]float64
			for _, p := range points {
				for _, v := range grids[name] {
					q := make(map[string]float64, len(p)+1)
					for k, x := range p {
						q[k] = x
					}
					q[name] = v
					next = append(next, q)
				}
			}
			points = next
		}
	} else {
		rng := rand.New(rand.NewPCG(uint64(base.Seed), 0x5eed))
		for range s.Samples {
			p := map[string]float64{}
			for _, name := range names {
				p[name] = s.Params[name].sample(name, rng)
			}
			points = append(points, p)
		}
	}

	out := make([]SweepPoint, 0, len(points))
	for _, p := range points {
		spec := base.Clone()
		for _, name := range names {
			_ = sweepSet(&spec, name, p[name])
		}
		if err := spec.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return nil, &ValidationError{Fields: sweepFieldErrors(names, p, ve.Fields)}
			}
			return nil, err
		}
		out = append(out, SweepPoint{Spec: spec, Values: p})
	}
	if err := s.checkASHA(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkASHA checks successive halving against the expanded points: some
// point must train past the first rung, and a validation metric needs a
// validation set in every point.
func (s Sweep) checkASHA(points []SweepPoint) error {
	a := s.ASHA
	if a == nil {
		return nil
	}
	errs := map[string]string{}
	most := 0
	for _, p := range points {
		most = max(most, p.Spec.Epochs)
		if strings.HasPrefix(a.Metric, "val_") && p.Spec.ValFraction <= 0 {
			errs["sweep.asha.metric"] = fmt.Sprintf("%s needs a validation set: set val_fraction above 0, or rank by %s", a.Metric, strings.TrimPrefix(a.Metric, "val_"))
		}
	}
	if len(a.Rungs(most)) == 0 {
		errs["sweep.asha.min_epochs"] = fmt.Sprintf("min_epochs %d must be below the epochs of some point (at most %d), or no run is ever compared", a.MinEpochs, most)
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// sweepFieldErrors names the swept setting behind each error of an invalid
// point, with the value that made it invalid.
func sweepFieldErrors(names []string, p map[string]float64, fields map[string]string) map[string]string {
	out := map[string]string{}
	for field, msg := range fields {
		key := "sweep"
		for _, name := range names {
			if field == name || strings.HasPrefix(field, name) || (name == "dropout" && strings.HasSuffix(field, ".rate")) {
				key = "sweep.params." + name
				msg = fmt.Sprintf("%s = %g: %s", name, p[name], msg)
				break
			}
		}
		if key == "sweep" {
			msg = fmt.Sprintf("the point %s: %s: %s", pointText(names, p), field, msg)
		}
		if _, ok := out[key]; !ok {
			out[key] = msg
		}
	}
	return out
}

func pointText(names []string, p map[string]float64) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%g", n, p[n])
	}
	return strings.Join(parts, ", ")
}

// SweepValue reads a swept setting back from a spec (the inverse of the
// expansion), for tables and plots of a sweep's runs.
func SweepValue(spec Spec, name string) (float64, bool) {
	switch name {
	case "epochs":
		return float64(spec.Epochs), true
	case "batch_size":
		return float64(spec.BatchSize), true
	case "learning_rate":
		return spec.LearningRate, true
	case "train_limit":
		return float64(spec.TrainLimit), true
	case "dropout":
		for _, l := range spec.Layers {
			if l.Type == LayerDropout {
				return l.Rate, true
			}
		}
		return 0, false
	}
	m := layerParam.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(spec.Layers) {
		return 0, false
	}
	l := spec.Layers[i]
	switch m[2] {
	case "units":
		return float64(l.Units), true
	case "filters":
		return float64(l.Filters), true
	case "kernel":
		return float64(l.Kernel), true
	default:
		return l.Rate, true
	}
}

// ParamNames returns the swept settings in order.
func (s Sweep) ParamNames() []string {
	names := make([]string, 0, len(s.Params))
	for n := range s.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
