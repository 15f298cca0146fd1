package runs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
)

// ErrNotFound is returned when a run does not exist.
var ErrNotFound = errors.New("run not found")

// ErrFinished is returned when a run that already ended is asked to change state.
var ErrFinished = errors.New("run already finished")

// ErrBusy is returned when another worker is training the run right now.
var ErrBusy = errors.New("run is being trained by another worker")

// ErrLeaseLost is returned to an attempt whose run another attempt took over
// (its process stalled past the rescue time): it must stop without writing.
var ErrLeaseLost = errors.New("run was taken over by another attempt")

// ErrGaveUp is returned by Start when the run's process died MaxStops times
// while training it: Start marked it failed instead of starting it again.
var ErrGaveUp = errors.New("run failed: its process stopped too many times")

// MaxStops is how many times a run's process may die while training it
// before the run fails instead of resuming once more.
const MaxStops = 3

type runRow struct {
	ID           int64 `gorm:"primaryKey"`
	ExperimentID int64
	Status       string
	Error        string
	Device       string
	Worker       *string
	Spec         string
	JobID        int64
	TrainSeconds float64
	WeightsPath  string
	// WeightsSHA256 is the sha256 of the weights artifact, null until known.
	WeightsSHA256 *string `gorm:"column:weights_sha256"`
	Test          *string
	CreatedAt     time.Time
	StartedAt     *time.Time
	FinishedAt    *time.Time
	HeartbeatAt   *time.Time
	// What the runs table sorts and filters on (see List).
	TestAccuracy    *float64
	BestValAccuracy *float64
	Params          int
	Epochs          int `gorm:"column:epochs"`
	BatchSize       int
	LearningRate    float64
	Optimizer       string
	Dataset         string
	Seed            int64
	Note            string
	Lease           string
	// CheckpointEpoch is the epoch of the run's last checkpoint (0: none).
	CheckpointEpoch int
	// Stops counts the attempts whose process died while training the run.
	Stops int
	// StopRung is the rung (an epoch) at which successive halving stopped the run.
	StopRung int
	// Joined from experiments.
	ExperimentName   string `gorm:"->;column:experiment_name"`
	ExperimentPreset string `gorm:"->;column:experiment_preset"`
	CreatedBy        string `gorm:"->;column:created_by"`
}

func (runRow) TableName() string { return "runs" }

type epochRow struct {
	RunID           int64 `gorm:"primaryKey"`
	Epoch           int   `gorm:"primaryKey"`
	Loss            float64
	Accuracy        *float64
	ValLoss         *float64
	ValAccuracy     *float64
	CharAccuracy    *float64
	ValCharAccuracy *float64
	LearningRate    float64
	Seconds         float64
	Heads           *string
}

func (epochRow) TableName() string { return "epochs" }

func (r runRow) run() (Run, error) {
	run := Run{
		ID: r.ID, ExperimentID: r.ExperimentID, Experiment: r.ExperimentName, Preset: r.ExperimentPreset, CreatedBy: r.CreatedBy,
		Status: Status(r.Status), Error: r.Error, Device: r.Device, Worker: r.Worker, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, TrainSeconds: r.TrainSeconds, WeightsPath: r.WeightsPath, WeightsSHA256: r.WeightsSHA256,
		Note: r.Note, Tags: []string{}, StopRung: r.StopRung,
	}
	if err := json.Unmarshal([]byte(r.Spec), &run.Spec); err != nil {
		return Run{}, fmt.Errorf("run %d: decode spec: %w", r.ID, err)
	}
	if r.Test != nil {
		run.Test = &TestResult{}
		if err := json.Unmarshal([]byte(*r.Test), run.Test); err != nil {
			return Run{}, fmt.Errorf("run %d: decode test result: %w", r.ID, err)
		}
		upgradeTest(run.Test, run.Spec.Heads)
	}
	return run, nil
}

// upgradeTest reads a multi-head test result stored before its JSON kept
// zero values and before best_val_char_accuracy existed: a missing
// image_accuracy was 0 and equals accuracy, a missing char_accuracy was 0,
// and best_val_accuracy held the character accuracy.
func upgradeTest(t *TestResult, heads int) {
	if heads <= 1 {
		return
	}
	if t.ImageAccuracy == nil {
		t.ImageAccuracy = Float(t.Accuracy)
	}
	if t.CharAccuracy == nil {
		t.CharAccuracy = Float(0)
	}
	if t.BestValCharAccuracy == nil && t.BestValAccuracy != nil {
		t.BestValCharAccuracy, t.BestValAccuracy = t.BestValAccuracy, nil
	}
}

// Store keeps runs and their metrics in the database.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// WithTx returns a Store whose statements run inside tx.
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx} }

// CreateRun stores a queued run of the given experiment and spec and returns it.
func (s *Store) CreateRun(ctx context.Context, experimentID int64, spec experiments.Spec) (Run, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return Run{}, fmt.Errorf("encode spec: %w", err)
	}
	row := runRow{ExperimentID: experimentID, Status: string(StatusQueued), Spec: string(b), CreatedAt: time.Now().UTC()}
	row.setSpecColumns(spec)
	if err := s.db.WithContext(ctx).Omit("ExperimentName", "ExperimentPreset", "Lease", "CheckpointEpoch", "Stops", "CreatedBy").Create(&row).Error; err != nil {
		return Run{}, fmt.Errorf("create run: %w", err)
	}
	return row.run()
}

// SetJobID records the queue job that trains the run.
func (s *Store) SetJobID(ctx context.Context, id, jobID int64) error {
	return s.update(ctx, id, map[string]any{"job_id": jobID})
}

// JobID returns the queue job that trains the run (0: none recorded).
func (s *Store) JobID(ctx context.Context, id int64) (int64, error) {
	var row runRow
	err := s.db.WithContext(ctx).Select("job_id").Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("run %d: %w", id, err)
	}
	return row.JobID, nil
}

func (s *Store) update(ctx context.Context, id int64, cols map[string]any) error {
	res := s.db.WithContext(ctx).Model(&runRow{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("update run %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *Store) base(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("runs").
		Select("runs.*, experiments.name AS experiment_name, experiments.preset AS experiment_preset, experiments.created_by AS created_by").
		Joins("JOIN experiments ON experiments.id = runs.experiment_id")
}

// Run returns the run with its epochs and test result, or ErrNotFound.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	var row runRow
	err := s.base(ctx).Where("runs.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	run, err := row.run()
	if err != nil {
		return Run{}, err
	}
	if run.Tags, err = s.Tags(ctx, id); err != nil {
		return Run{}, err
	}
	run.Epochs, err = s.Epochs(ctx, id)
	return run, err
}

// Filter narrows a list of runs. Zero fields match everything.
type Filter struct {
	Status       Status
	ExperimentID int64
	IDs          []int64
	Limit        int
}

// Runs returns runs matching f, newest first, without their epochs.
func (s *Store) Runs(ctx context.Context, f Filter) ([]Run, error) {
	q := s.base(ctx).Order("runs.id DESC")
	if f.Status != "" {
		q = q.Where("runs.status = ?", string(f.Status))
	}
	if f.ExperimentID != 0 {
		q = q.Where("runs.experiment_id = ?", f.ExperimentID)
	}
	if f.IDs != nil {
		q = q.Where("runs.id IN ?", f.IDs)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []runRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	out := make([]Run, 0, len(rows))
	for _, r := range rows {
		run, err := r.run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

// CountsByExperiment returns how many runs each experiment has, of the
// given experiments only when ids are given.
func (s *Store) CountsByExperiment(ctx context.Context, ids ...int64) (map[int64]int, error) {
	var rows []struct {
		ExperimentID int64
		N            int
	}
	q := s.db.WithContext(ctx).Model(&runRow{}).Select("experiment_id, count(*) AS n")
	if len(ids) > 0 {
		q = q.Where("experiment_id IN ?", ids)
	}
	if err := q.Group("experiment_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("run counts: %w", err)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.ExperimentID] = r.N
	}
	return out, nil
}

// RunsWithEpochs returns the runs with the given ids, in the order asked, with
// their epochs; ErrNotFound names the first missing id.
func (s *Store) RunsWithEpochs(ctx context.Context, ids []int64) ([]Run, error) {
	out, missing, err := s.RunsWithEpochsFound(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("run %d: %w", missing[0], ErrNotFound)
	}
	return out, nil
}

// RunsWithEpochsFound is RunsWithEpochs that skips the ids of runs that do
// not exist and returns them as missing, in the order asked.
func (s *Store) RunsWithEpochsFound(ctx context.Context, ids []int64) (found []Run, missing []int64, err error) {
	// Two queries whatever the number of runs: theirs, then all their epochs.
	var rows []runRow
	if err := s.base(ctx).Where("runs.id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("runs: %w", err)
	}
	byID := make(map[int64]runRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	epochs, err := s.epochsOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Run, 0, len(ids))
	for _, id := range ids {
		row, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		r, err := row.run()
		if err != nil {
			return nil, nil, err
		}
		r.Epochs = epochs[id]
		if r.Epochs == nil {
			r.Epochs = []Epoch{}
		}
		out = append(out, r)
	}
	return out, missing, nil
}

// Epochs returns the run's recorded epochs in order.
func (s *Store) Epochs(ctx context.Context, id int64) ([]Epoch, error) {
	all, err := s.epochsOf(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if all[id] == nil {
		return []Epoch{}, nil
	}
	return all[id], nil
}

// epochsOf returns the recorded epochs of each run, in order.
func (s *Store) epochsOf(ctx context.Context, ids []int64) (map[int64][]Epoch, error) {
	// Scanned by hand: a compare of 100 runs reads 10,000 rows or more, and
	// gorm's reflection would be most of its time.
	rows, err := s.db.WithContext(ctx).Raw(`SELECT run_id, epoch, loss, accuracy, val_loss, val_accuracy, char_accuracy, val_char_accuracy, learning_rate, seconds, heads
		FROM epochs WHERE run_id IN ? ORDER BY run_id, epoch`, ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("epochs: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]Epoch, len(ids))
	for rows.Next() {
		var id int64
		e := Epoch{Heads: []HeadMetrics{}}
		var heads *string
		if err := rows.Scan(&id, &e.Epoch, &e.Loss, &e.Accuracy, &e.ValLoss, &e.ValAccuracy, &e.CharAccuracy, &e.ValCharAccuracy,
			&e.LearningRate, &e.Seconds, &heads); err != nil {
			return nil, fmt.Errorf("epochs: %w", err)
		}
		if heads != nil {
			if err := json.Unmarshal([]byte(*heads), &e.Heads); err != nil {
				return nil, fmt.Errorf("epoch %d of run %d: %w", e.Epoch, id, err)
			}
		}
		out[id] = append(out[id], e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("epochs: %w", err)
	}
	return out, nil
}

// Lease is one attempt's hold on a running run, taken by Start. Every write
// an attempt makes to its run (heartbeats, epochs, the checkpoint, the final
// status) is conditional on the run still carrying the lease's token, so an
// attempt whose run was taken over can no longer change it.
type Lease struct {
	RunID int64
	// Token is the attempt's random token, stored on the run.
	Token string
	// Checkpoint is the epoch of the run's last checkpoint when the attempt
	// started (0: train from the start).
	Checkpoint int
}

// Start takes a lease on a queued run and marks it running on device of
// the worker named worker (recorded on the run as its latest attempt's), or
// takes over a running run whose worker has not sent a heartbeat for
// staleAfter (its process died or stalled) or released it. It returns
// ErrFinished when the run already ended, for example when it was cancelled
// while queued, and ErrBusy when a live worker holds it. A take-over from a
// stale heartbeat counts as a stop; at the MaxStops-th the run is marked
// failed ("the process stopped 3 times while training this run (last epoch
// N)") and Start returns ErrGaveUp.
func (s *Store) Start(ctx context.Context, id int64, device, worker string, staleAfter time.Duration) (Lease, error) {
	now := time.Now().UTC()
	lease := Lease{RunID: id, Token: rand.Text()}
	res := s.db.WithContext(ctx).Model(&runRow{}).
		Where("id = ? AND (status = ? OR (status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)))",
			id, string(StatusQueued), string(StatusRunning), now.Add(-staleAfter)).
		Updates(map[string]any{"status": string(StatusRunning), "device": device, "worker": worker, "heartbeat_at": now,
			"lease": lease.Token, "error": "",
			"stops":      gorm.Expr("stops + CASE WHEN status = ? AND heartbeat_at IS NOT NULL THEN 1 ELSE 0 END", string(StatusRunning)),
			"started_at": gorm.Expr("COALESCE(started_at, ?)", now)})
	if res.Error != nil {
		return Lease{}, fmt.Errorf("start run %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		r, err := s.Run(ctx, id)
		if err != nil {
			return Lease{}, err
		}
		if r.Status.Done() {
			return Lease{}, ErrFinished
		}
		return Lease{}, ErrBusy
	}
	var row runRow
	if err := s.db.WithContext(ctx).Select("checkpoint_epoch", "stops").Where("id = ?", id).Take(&row).Error; err != nil {
		return Lease{}, fmt.Errorf("start run %d: %w", id, err)
	}
	lease.Checkpoint = row.CheckpointEpoch
	if row.Stops >= MaxStops {
		var last struct{ N int }
		if err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(epoch), 0) AS n FROM epochs WHERE run_id = ?`, id).Scan(&last).Error; err != nil {
			return Lease{}, fmt.Errorf("start run %d: %w", id, err)
		}
		msg := fmt.Sprintf("the process stopped %d times while training this run (last epoch %d)", row.Stops, last.N)
		if err := s.Fail(ctx, lease, msg); err != nil {
			return Lease{}, err
		}
		return Lease{}, ErrGaveUp
	}
	return lease, nil
}

// Heartbeat records that the lease's worker is alive. It returns
// ErrLeaseLost when another attempt holds the run and ErrFinished when the
// run ended (cancelled by a person, perhaps in another process).
func (s *Store) Heartbeat(ctx context.Context, l Lease) error {
	return s.updateHeld(ctx, l, map[string]any{"heartbeat_at": time.Now().UTC()})
}

// Release gives the run up when its worker stops without finishing it
// (shutdown): the lease ends and the heartbeat is cleared, so the next worker
// takes the run over at once, without counting a stop.
func (s *Store) Release(ctx context.Context, l Lease) error {
	return s.updateHeld(ctx, l, map[string]any{"heartbeat_at": nil, "lease": ""})
}

// updateHeld updates the run while the lease holds it.
func (s *Store) updateHeld(ctx context.Context, l Lease, cols map[string]any) error {
	res := s.held(s.db.WithContext(ctx), l).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("update run %d: %w", l.RunID, res.Error)
	}
	if res.RowsAffected == 0 {
		return s.whyNotHeld(ctx, l)
	}
	return nil
}

// held selects the lease's run while it is running under the lease.
func (s *Store) held(db *gorm.DB, l Lease) *gorm.DB {
	return db.Model(&runRow{}).Where("id = ? AND lease = ? AND status = ?", l.RunID, l.Token, string(StatusRunning))
}

// whyNotHeld explains a conditional write that matched no row: the run is
// gone, ended, or held by another attempt.
func (s *Store) whyNotHeld(ctx context.Context, l Lease) error {
	r, err := s.Run(context.WithoutCancel(ctx), l.RunID)
	switch {
	case err != nil:
		return err
	case r.Status.Done():
		return ErrFinished
	default:
		return ErrLeaseLost
	}
}

// RecordEpoch stores one finished epoch of the lease's run and makes it the
// run's checkpoint epoch, in one transaction that also calls publish (when
// not nil): the epoch row and the checkpoint epoch change together, and only
// while the lease holds the run (else ErrLeaseLost or ErrFinished, and
// publish is not called). Called on a Store from WithTx inside the
// checkpoint artifact's commit, the checkpoint joins that transaction.
// Recording the same epoch twice replaces it, so a resumed run never counts
// an epoch twice.
func (s *Store) RecordEpoch(ctx context.Context, l Lease, e Epoch, publish func() error) error {
	row := epochRow{RunID: l.RunID, Epoch: e.Epoch, Loss: e.Loss, Accuracy: e.Accuracy, ValLoss: e.ValLoss,
		ValAccuracy: e.ValAccuracy, CharAccuracy: e.CharAccuracy, ValCharAccuracy: e.ValCharAccuracy,
		LearningRate: e.LearningRate, Seconds: e.Seconds}
	if len(e.Heads) > 0 {
		b, err := json.Marshal(e.Heads)
		if err != nil {
			return err
		}
		h := string(b)
		row.Heads = &h
	}
	errNotHeld := errors.New("not held")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The conditional write comes first: it takes the write lock, so no
		// other attempt can take the lease until this transaction ends.
		res := s.held(tx, l).Update("checkpoint_epoch", e.Epoch)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotHeld
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Model(&runRow{}).Where("id = ?", l.RunID).Updates(map[string]any{
			"train_seconds":     gorm.Expr("(SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run_id = ?)", l.RunID),
			"best_val_accuracy": gorm.Expr("(SELECT MAX(val_accuracy) FROM epochs WHERE run_id = ?)", l.RunID),
		}).Error; err != nil {
			return err
		}
		if publish != nil {
			return publish()
		}
		return nil
	})
	if errors.Is(err, errNotHeld) {
		return s.whyNotHeld(ctx, l)
	}
	if err != nil {
		return fmt.Errorf("record epoch %d of run %d: %w", e.Epoch, l.RunID, err)
	}
	return nil
}

// TruncateEpochs deletes the run's epochs after epoch from and makes from
// its checkpoint epoch, so a run resumed from its checkpoint at that epoch
// (or started over from 0) records the later ones afresh. It changes nothing
// unless the lease holds the run.
func (s *Store) TruncateEpochs(ctx context.Context, l Lease, from int) error {
	errNotHeld := errors.New("not held")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := s.held(tx, l).Update("checkpoint_epoch", from)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotHeld
		}
		return tx.Where("run_id = ? AND epoch > ?", l.RunID, from).Delete(&epochRow{}).Error
	})
	if errors.Is(err, errNotHeld) {
		return s.whyNotHeld(ctx, l)
	}
	if err != nil {
		return fmt.Errorf("truncate epochs of run %d: %w", l.RunID, err)
	}
	return nil
}

// Weights names a run's stored weights: the artifact that holds them and
// its sha256 (empty when not known).
type Weights struct {
	Artifact string
	SHA256   string
}

func (w Weights) sha() *string {
	if w.SHA256 == "" {
		return nil
	}
	return &w.SHA256
}

// Succeed stores the test result and weights and marks the lease's run
// succeeded, in one transaction that also calls publish (when not nil); it
// returns ErrLeaseLost or ErrFinished, without calling publish, when the
// lease no longer holds the run. Called on a Store from WithTx inside the
// weights artifact's commit, the artifact and the run's success are stored
// together, or neither.
func (s *Store) Succeed(ctx context.Context, l Lease, test TestResult, w Weights, publish func() error) error {
	b, err := json.Marshal(test)
	if err != nil {
		return fmt.Errorf("encode test result: %w", err)
	}
	t := string(b)
	return s.finish(ctx, l.RunID, &l, StatusSucceeded, map[string]any{"test": t, "weights_path": w.Artifact,
		"weights_sha256": w.sha(), "error": "", "test_accuracy": test.Accuracy}, publish)
}

// SetWeights records where a succeeded run's weights are stored now (they
// moved from a file into the artifact store).
func (s *Store) SetWeights(ctx context.Context, id int64, w Weights) error {
	return s.update(ctx, id, map[string]any{"weights_path": w.Artifact, "weights_sha256": w.sha()})
}

// LegacyWeights returns the succeeded runs whose weights are still a file
// under the data dir (path relative to it), by run id: the runs whose
// weights_path does not name an artifact of their own.
func (s *Store) LegacyWeights(ctx context.Context) (map[int64]string, error) {
	var rows []runRow
	if err := s.db.WithContext(ctx).Select("id", "weights_path").
		Where("weights_path <> '' AND weights_sha256 IS NULL").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("runs with weights files: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.WeightsPath
	}
	return out, nil
}

// Fail marks the lease's run failed with a message a person can read.
func (s *Store) Fail(ctx context.Context, l Lease, msg string) error {
	return s.finish(ctx, l.RunID, &l, StatusFailed, map[string]any{"error": msg}, nil)
}

// Cancel marks a queued or running run cancelled. It returns ErrFinished when
// the run already ended and ErrNotFound when there is no such run.
func (s *Store) Cancel(ctx context.Context, id int64) (Run, error) {
	if err := s.finish(ctx, id, nil, StatusCancelled, map[string]any{"error": ""}, nil); err != nil {
		return Run{}, err
	}
	return s.Run(ctx, id)
}

// finish ends a queued or running run (with a lease: only while the lease
// holds it) and ends its lease, deletes its checkpoint artifact, and calls
// publish, all in one transaction.
func (s *Store) finish(ctx context.Context, id int64, l *Lease, status Status, cols map[string]any, publish func() error) error {
	cols["status"] = string(status)
	cols["finished_at"] = time.Now().UTC()
	cols["heartbeat_at"] = nil
	cols["lease"] = ""
	errNotHeld := errors.New("not held")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&runRow{}).Where("id = ? AND status IN ?", id, []string{string(StatusQueued), string(StatusRunning)})
		if l != nil {
			q = s.held(tx, *l)
		}
		res := q.Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotHeld
		}
		// An ended run resumes no more: its checkpoint goes with the change,
		// with what attempts that died while writing one left.
		if _, err := artifacts.NewStore(tx).DeletePrefix(ctx, CheckpointArtifact(id)); err != nil {
			return err
		}
		if publish != nil {
			return publish()
		}
		return nil
	})
	if errors.Is(err, errNotHeld) {
		if l != nil {
			return s.whyNotHeld(ctx, *l)
		}
		if _, err := s.Run(ctx, id); err != nil {
			return err
		}
		return ErrFinished
	}
	if err != nil {
		return fmt.Errorf("finish run %d as %s: %w", id, status, err)
	}
	return nil
}
