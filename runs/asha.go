package runs

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/experiments"
)

// Rung is what successive halving decided at one rung of a sweep.
type Rung struct {
	// Epoch is the rung: the epoch at which the runs are compared.
	Epoch int `json:"epoch"`
	// Reached is how many runs of the sweep have the metric at that epoch,
	// Kept how many of them are in the top 1/eta (at least one), and
	// Threshold the metric value of the last one kept.
	Reached   int     `json:"reached"`
	Kept      int     `json:"kept"`
	Threshold float64 `json:"threshold"`
	// Stopped are the runs this decision stopped (running runs outside the top).
	Stopped []int64 `json:"stopped"`
}

// ashaColumns maps the metrics successive halving may rank by to their
// epochs column.
var ashaColumns = map[string]string{
	"val_loss": "val_loss", "val_accuracy": "val_accuracy", "loss": "loss", "accuracy": "accuracy",
}

// StopAtRung applies successive halving at one rung (an epoch) of the
// sweep experimentID queued with a: among the runs of the experiment that
// recorded the metric at that epoch, the top 1/Eta (at least one, ties
// kept) go on and every other one still running ends with StatusStopped,
// its rung and a message saying why. Finished runs are left as they are,
// and a stopped run is final: its lease ends, so the attempt training it
// can write nothing more (its next write gets ErrFinished).
func (s *Store) StopAtRung(ctx context.Context, experimentID int64, a experiments.ASHA, epoch int) (Rung, error) {
	col, ok := ashaColumns[a.Metric]
	if !ok || a.Eta < 2 {
		return Rung{}, fmt.Errorf("successive halving: metric %q, eta %d", a.Metric, a.Eta)
	}
	lower := a.LowerIsBetter()
	out := Rung{Epoch: epoch, Stopped: []int64{}}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID     int64
			Status string
			Value  float64
		}
		if err := tx.Raw(`SELECT runs.id AS id, runs.status AS status, epochs.`+col+` AS value
			FROM runs JOIN epochs ON epochs.run_id = runs.id
			WHERE runs.experiment_id = ? AND epochs.epoch = ? AND epochs.`+col+` IS NOT NULL
			ORDER BY runs.id`, experimentID, epoch).Scan(&rows).Error; err != nil {
			return err
		}
		out.Reached = len(rows)
		if len(rows) == 0 {
			return nil
		}
		values := make([]float64, len(rows))
		for i, r := range rows {
			values[i] = r.Value
		}
		sort.Slice(values, func(i, j int) bool {
			if lower {
				return values[i] < values[j]
			}
			return values[i] > values[j]
		})
		out.Kept = max(1, len(rows)/a.Eta)
		out.Threshold = values[out.Kept-1]
		now := time.Now().UTC()
		for _, r := range rows {
			worse := r.Value > out.Threshold
			if !lower {
				worse = r.Value < out.Threshold
			}
			if !worse || Status(r.Status) != StatusRunning {
				continue
			}
			msg := fmt.Sprintf("stopped early at the rung at epoch %d: %s %.4g was outside the top 1/%d (the best %d of the %d runs that reached it)",
				epoch, a.Metric, r.Value, a.Eta, out.Kept, out.Reached)
			res := tx.Model(&runRow{}).Where("id = ? AND status = ?", r.ID, string(StatusRunning)).Updates(map[string]any{
				"status": string(StatusStopped), "stop_rung": epoch, "error": msg,
				"finished_at": now, "heartbeat_at": nil, "lease": "",
			})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				out.Stopped = append(out.Stopped, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		return Rung{}, fmt.Errorf("successive halving of experiment %d at epoch %d: %w", experimentID, epoch, err)
	}
	return out, nil
}

// KeepStoppedWeights records the weights of a stopped run (its last
// checkpoint's weights), calling publish in the same transaction (or, on a
// Store from WithTx inside the weights artifact's commit, joining it); it changes nothing, and returns ErrFinished, unless the
// run is stopped and has no weights yet.
func (s *Store) KeepStoppedWeights(ctx context.Context, id int64, w Weights, publish func() error) error {
	errNo := fmt.Errorf("run %d: not a stopped run without weights: %w", id, ErrFinished)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&runRow{}).Where("id = ? AND status = ? AND weights_path = ''", id, string(StatusStopped)).
			Updates(map[string]any{"weights_path": w.Artifact, "weights_sha256": w.sha()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNo
		}
		if publish != nil {
			return publish()
		}
		return nil
	})
	if err != nil && err != errNo {
		return fmt.Errorf("keep weights of stopped run %d: %w", id, err)
	}
	return err
}
