package nn

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Names of a checkpoint's extra tensors and metadata. Layer names never
// contain a slash, so these cannot collide with a weight.
const (
	ckptAdamM = "optimizer/m/"
	ckptAdamV = "optimizer/v/"
	ckptBest  = "best/"
	ckptMeta  = "checkpoint"
)

// checkpointState is the metadata entry of a checkpoint: where training
// stands besides the tensors.
type checkpointState struct {
	// Epoch is the last epoch finished.
	Epoch int `json:"epoch"`
	// Step is the optimizer's step count (Adam's bias correction).
	Step int `json:"step"`
	// LearningRate is the rate the next epoch trains at.
	LearningRate float64 `json:"learning_rate"`
	// EarlyStopping and ReduceLR are the callbacks' counters, when the spec has them.
	EarlyStopping *callbackState `json:"early_stopping"`
	ReduceLR      *callbackState `json:"reduce_lr"`
	// Stopped is true when EarlyStopping stopped training after Epoch.
	Stopped bool `json:"stopped"`
	// Random is the state of the fast engine's dropout generators.
	Random []byte `json:"random"`
}

// WriteCheckpoint writes what Fit needs to go on after the last finished
// epoch exactly as if it had never stopped: the weights (with batch
// normalisation's moving statistics), Adam's moments and step count, the
// learning rate, EarlyStopping's and ReduceLROnPlateau's counters and the
// weights EarlyStopping would restore, and the state of the dropout
// generators. Shuffling and the built-in engine's dropout masks are drawn
// from spec.Seed+epoch at the start of every epoch, so the epoch number
// carries them. Call it from Hooks.OnEpoch (or after Fit).
//
// The file is safetensors, like WriteWeights, with the extra tensors named
// "optimizer/m/NAME", "optimizer/v/NAME" and "best/NAME" and the rest as JSON
// under the metadata key "checkpoint"; LoadCheckpoint reads it back.
func (m *Model) WriteCheckpoint(w io.Writer) error {
	st := checkpointState{Step: m.opt.t, LearningRate: m.opt.lr}
	tensors := map[string]Tensor{}
	// The tensors are written as they are, without a copy: the file is
	// written between two training steps.
	for i, p := range m.params {
		tensors[p.name] = Tensor{Shape: p.shape, Data: p.data()}
		if m.opt.adam {
			tensors[ckptAdamM+p.name] = Tensor{Shape: p.shape, Data: m.opt.m[i]}
			tensors[ckptAdamV+p.name] = Tensor{Shape: p.shape, Data: m.opt.v[i]}
		}
	}
	for _, n := range m.norms {
		tensors[n.name+".moving_mean"] = Tensor{Shape: []int{n.channels}, Data: n.movingMean}
		tensors[n.name+".moving_variance"] = Tensor{Shape: []int{n.channels}, Data: n.movingVar}
	}
	if fs := m.fit; fs != nil {
		st.Epoch, st.Stopped = fs.epoch, fs.stopped
		if fs.stopper != nil {
			s := fs.stopper.state()
			st.EarlyStopping = &s
		}
		if fs.reducer != nil {
			s := fs.reducer.state()
			st.ReduceLR = &s
		}
		for name, t := range fs.best {
			tensors[ckptBest+name] = t
		}
	}
	random, err := m.mode.RandomState()
	if err != nil {
		return err
	}
	st.Random = random
	meta, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("nn: encoding checkpoint state: %w", err)
	}
	return writeSafetensors(w, m.spec, tensors, map[string]string{ckptMeta: string(meta)})
}

// LoadCheckpoint reads a file written by WriteCheckpoint, rebuilds its model
// with the given batch size (batch <= 0: the spec's own; training resumes
// exactly only at the spec's own), restores the training state, and returns
// the model with the last epoch it finished: Fit(ctx, train, val, epoch,
// hooks) goes on from there.
func LoadCheckpoint(r io.Reader, batch int) (*Model, int, error) {
	spec, meta, tensors, err := readSafetensors(r)
	if err != nil {
		return nil, 0, err
	}
	if meta[ckptMeta] == "" {
		return nil, 0, fmt.Errorf("nn: the file is a weights file, not a checkpoint (no %q metadata)", ckptMeta)
	}
	var st checkpointState
	if err := json.Unmarshal([]byte(meta[ckptMeta]), &st); err != nil {
		return nil, 0, fmt.Errorf("nn: checkpoint state: %w", err)
	}
	if st.Epoch < 0 || st.Epoch > spec.Epochs {
		return nil, 0, fmt.Errorf("nn: checkpoint of epoch %d, but the spec trains %d", st.Epoch, spec.Epochs)
	}
	if batch <= 0 {
		batch = max(spec.BatchSize, 1)
	}
	m, err := Build(spec, batch)
	if err != nil {
		return nil, 0, err
	}
	weights := map[string]Tensor{}
	best := map[string]Tensor{}
	moments := map[string]Tensor{}
	for name, t := range tensors {
		switch {
		case strings.HasPrefix(name, ckptAdamM), strings.HasPrefix(name, ckptAdamV):
			moments[name] = t
		case strings.HasPrefix(name, ckptBest):
			best[strings.TrimPrefix(name, ckptBest)] = t
		default:
			weights[name] = t
		}
	}
	if err := m.SetWeights(weights); err != nil {
		return nil, 0, err
	}
	if m.opt.adam {
		for i, p := range m.params {
			for _, part := range []struct {
				prefix string
				dst    []float32
			}{{ckptAdamM, m.opt.m[i]}, {ckptAdamV, m.opt.v[i]}} {
				t, ok := moments[part.prefix+p.name]
				if !ok || len(t.Data) != len(part.dst) {
					return nil, 0, fmt.Errorf("nn: checkpoint lacks the optimizer state %q", part.prefix+p.name)
				}
				copy(part.dst, t.Data)
			}
		}
	}
	m.opt.t, m.opt.lr = st.Step, st.LearningRate
	fs := &fitState{epoch: st.Epoch, stopped: st.Stopped,
		stopper: NewEarlyStopper(spec.EarlyStopping), reducer: NewLRReducer(spec.ReduceLR)}
	if fs.stopper != nil && st.EarlyStopping != nil {
		fs.stopper.restore(*st.EarlyStopping)
	}
	if fs.reducer != nil && st.ReduceLR != nil {
		fs.reducer.restore(*st.ReduceLR)
	}
	if len(best) > 0 {
		// Checked now, so that a bad file fails here rather than when training stops.
		if _, err := m.checkWeights(best); err != nil {
			return nil, 0, fmt.Errorf("nn: checkpoint's best weights: %w", err)
		}
		fs.best = best
	}
	m.fit = fs
	if err := m.mode.SetRandomState(st.Random); err != nil {
		return nil, 0, err
	}
	return m, st.Epoch, nil
}
