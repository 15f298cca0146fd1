package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
)

// resumeSpec is a small CNN with dropout, Adam, ReduceLROnPlateau and
// EarlyStopping (restore best): every piece of state a resume must carry.
const resumeSpec = `{"preset": "mnist-cnn1", "overrides": {"epochs": %d, "batch_size": 32, "train_limit": 1200, "seed": 7,
	"learning_rate": 0.003,
	"reduce_lr": {"factor": 0.5, "patience": 1, "min_lr": 0.00001},
	"early_stopping": {"patience": 20, "restore_best": true}}}`

// sameValue reports whether two optional metrics are both unset or equal.
func sameValue(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func createLeaseRun(t *testing.T, url, body string) int64 {
	t.Helper()
	return createRuns(t, url, body, 1)[0]
}

// createRuns posts an experiment and returns its runs' ids, failing unless
// it created want of them.
func createRuns(t *testing.T, url, body string, want int) []int64 {
	t.Helper()
	res, err := http.Post(url+"/api/experiments", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Runs []int64 `json:"runs"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated || len(out.Runs) != want {
		t.Fatalf("create: %d, %v, %+v", res.StatusCode, err, out)
	}
	return out.Runs
}

func fetchRun(t *testing.T, url string, id int64) runs.Run {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/api/runs/%d", url, id))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r runs.Run
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitRun polls the run until done says so, failing after limit or as soon
// as the run has failed without done accepting it.
func waitRun(t *testing.T, url string, id int64, limit time.Duration, what string, done func(runs.Run) bool) runs.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := fetchRun(t, url, id)
		if done(r) {
			return r
		}
		if r.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("run %d: %s: not within %s (status %s %q, %d epochs)", id, what, limit, r.Status, r.Error, len(r.Epochs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func finished(r runs.Run) bool { return r.Status != "queued" && r.Status != "running" }

func weightsSHA(t *testing.T, url string, id int64) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/api/runs/%d/weights", url, id))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("weights of run %d: %d %v", id, res.StatusCode, err)
	}
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	// The download says its sha256, and so does the run.
	var r struct {
		WeightsSHA256 *string `json:"weights_sha256"`
	}
	rr, err := http.Get(fmt.Sprintf("%s/api/runs/%d", url, id))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Body.Close()
	if err := json.NewDecoder(rr.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("ETag") != `"`+got+`"` || r.WeightsSHA256 == nil || *r.WeightsSHA256 != got ||
		res.ContentLength != int64(len(b)) {
		t.Fatalf("weights of run %d: sha256 %s; ETag %s, weights_sha256 %v, Content-Length %d of %d bytes",
			id, got, res.Header.Get("ETag"), r.WeightsSHA256, res.ContentLength, len(b))
	}
	return got
}

// runArtifacts lists the artifacts of run id in the data dir's database,
// complete or not ("runs/1/checkpoint (incomplete)").
func runArtifacts(t *testing.T, dir string, id int64) []string {
	t.Helper()
	db, err := migrations.OpenDatabase(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []struct {
		Name     string
		Complete bool
	}
	if err := db.Gorm.Raw("SELECT name, complete FROM artifacts WHERE name LIKE ? ORDER BY name", fmt.Sprintf("runs/%d/%%", id)).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if !r.Complete {
			r.Name += " (incomplete)"
		}
		out = append(out, r.Name)
	}
	return out
}

// sameTraining fails unless runs a and b trained alike: the same epochs with
// the same metrics and learning rates, and the same test result.
func sameTraining(t *testing.T, a, b runs.Run) {
	t.Helper()
	if a.Status != "succeeded" || b.Status != "succeeded" {
		t.Fatalf("runs ended %s (%s) and %s (%s)", a.Status, a.Error, b.Status, b.Error)
	}
	if len(a.Epochs) != len(b.Epochs) {
		t.Fatalf("%d epochs and %d epochs", len(a.Epochs), len(b.Epochs))
	}
	for i, ea := range a.Epochs {
		eb := b.Epochs[i]
		if ea.Epoch != i+1 || ea.Epoch != eb.Epoch || ea.Loss != eb.Loss || !sameValue(ea.ValLoss, eb.ValLoss) ||
			!sameValue(ea.Accuracy, eb.Accuracy) || ea.LearningRate != eb.LearningRate {
			t.Errorf("epoch %d: %+v, uninterrupted %+v", i+1, ea, eb)
		}
	}
	if a.Test == nil || b.Test == nil || a.Test.Accuracy != b.Test.Accuracy || a.Test.Loss != b.Test.Loss {
		t.Errorf("test results %+v and %+v", a.Test, b.Test)
	}
}

// TestKilledRunEndsAsIfNeverStopped kills `trainyard serve` with SIGKILL
// after epoch 2 of a 4-epoch run; the next process resumes it from its
// checkpoint, and it ends with the same epochs, test result and weights
// (sha256) as the same spec and seed trained without a stop.
func TestKilledRunEndsAsIfNeverStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startServer(t, bin, dir)
	killed := createLeaseRun(t, p.url, fmt.Sprintf(resumeSpec, 4))
	at := waitRun(t, p.url, killed, 2*time.Minute, "2 epochs", func(r runs.Run) bool { return len(r.Epochs) >= 2 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	if len(at.Epochs) >= 4 {
		t.Fatalf("killed after %d epochs: the run had already finished training", len(at.Epochs))
	}

	q := startServer(t, bin, dir)
	a := waitRun(t, q.url, killed, 3*time.Minute, "finish after the kill", finished)
	whole := createLeaseRun(t, q.url, fmt.Sprintf(resumeSpec, 4))
	b := waitRun(t, q.url, whole, 3*time.Minute, "finish", finished)
	sameTraining(t, a, b)
	if len(q.logged("checkpoint unreadable")) > 0 {
		t.Fatal("the resumed run did not start from its checkpoint")
	}
	sa, sb := weightsSHA(t, q.url, killed), weightsSHA(t, q.url, whole)
	if sa != sb {
		t.Fatalf("weights sha256 %s after a kill, %s without", sa, sb)
	}
	reduced := a.Epochs[len(a.Epochs)-1].LearningRate < 0.003
	t.Logf("killed after epoch %d of 4; resumed and uninterrupted weights sha256 %s; test accuracy %.4f; learning rate reduced: %v",
		len(at.Epochs), sa, a.Test.Accuracy, reduced)
	if got, want := runArtifacts(t, dir, killed), []string{fmt.Sprintf("runs/%d/weights.safetensors", killed)}; !slices.Equal(got, want) {
		t.Errorf("the finished run's artifacts are %q, want %q", got, want)
	}
}

// TestStalledProcessLosesItsRun runs two servers on one data dir. The one
// training a run is stopped (SIGSTOP) for longer than --rescue-after; the
// other takes the run over and finishes it. When the stalled one wakes up
// (SIGCONT) it stops training the run without writing: every stored epoch,
// the test result and the weights come from the attempt that finished it,
// and they equal those of the same spec trained without a stop.
func TestStalledProcessLosesItsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	a := startServer(t, bin, dir)
	id := createLeaseRun(t, a.url, fmt.Sprintf(resumeSpec, 6))
	waitRun(t, a.url, id, 2*time.Minute, "1 epoch", func(r runs.Run) bool { return len(r.Epochs) >= 1 })
	b := startServer(t, bin, dir)
	waitRun(t, a.url, id, 2*time.Minute, "2 epochs", func(r runs.Run) bool { return len(r.Epochs) >= 2 })
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	time.Sleep(200 * time.Millisecond)
	before := fetchRun(t, b.url, id)
	if finished(before) {
		t.Fatalf("the run %s before the other process could take it over", before.Status)
	}
	// B takes the run over once A's heartbeat is stale and River rescues
	// the job: an epoch beyond A's last is recorded while A sleeps. A wakes
	// up while B trains the rest.
	after := waitRun(t, b.url, id, 3*time.Minute, "an epoch from the other process", func(r runs.Run) bool {
		return len(r.Epochs) > len(before.Epochs) || finished(r)
	})
	stall := time.Since(stopped)
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, b.url, id, 3*time.Minute, "finish", finished)
	if r.Status != "succeeded" {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	// A, awake, finds its lease gone at its next write (a heartbeat or
	// the epoch it was in) and stops.
	deadline := time.Now().Add(time.Minute)
	for len(a.logged("taken over by another attempt")) == 0 && len(a.logged("finished by another attempt")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled process did not notice it lost the run; its log:\n%s", strings.Join(a.logged(""), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, e := range r.Epochs {
		// The epoch A was in when it stopped lasted as long as the stall:
		// had A recorded it, it would show.
		if e.Seconds >= stall.Seconds()/2 {
			t.Errorf("epoch %d lasted %.1f s: it comes from the stalled process (stalled %.1f s)", e.Epoch, e.Seconds, stall.Seconds())
		}
	}
	if len(a.logged("training failed")) > 0 || a.cmd.ProcessState != nil {
		t.Fatalf("the stalled process failed the run or died: %s", strings.Join(a.logged("training failed"), "\n"))
	}

	whole := createLeaseRun(t, b.url, fmt.Sprintf(resumeSpec, 6))
	w := waitRun(t, b.url, whole, 3*time.Minute, "finish", finished)
	sameTraining(t, r, w)
	sr, sw := weightsSHA(t, b.url, id), weightsSHA(t, b.url, whole)
	if sr != sw {
		t.Fatalf("weights sha256 %s after the stall, %s trained without one", sr, sw)
	}
	// Nothing half-written is left: only the weights, no checkpoint, no
	// incomplete artifact.
	if got, want := runArtifacts(t, dir, id), []string{fmt.Sprintf("runs/%d/weights.safetensors", id)}; !slices.Equal(got, want) {
		t.Errorf("the run's artifacts are %q, want %q", got, want)
	}
	t.Logf("stalled after epoch %d for %.1f s, woken with the run %s at epoch %d; the other process recorded epochs %d-%d; "+
		"weights sha256 %s (uninterrupted: %s); test accuracy %.4f; stalled process: %q",
		len(before.Epochs), stall.Seconds(), after.Status, len(after.Epochs), len(before.Epochs)+1, len(r.Epochs), sr, sw, r.Test.Accuracy,
		append(a.logged("taken over by another attempt"), a.logged("finished by another attempt")...))
}

// TestThreeDeathsFailTheRun kills `trainyard serve` (SIGKILL) three times
// while it trains the same run; the fourth process fails the run with a
// message saying so instead of resuming it once more.
func TestThreeDeathsFailTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startServer(t, bin, dir)
	id := createLeaseRun(t, p.url, `{"preset": "mnist-nn1", "overrides": {"epochs": 100, "batch_size": 32, "train_limit": 500}}`)
	epochs := 0
	for kill := 1; kill <= 3; kill++ {
		// Each process trains the run (records an epoch of its own) before it dies.
		r := waitRun(t, p.url, id, 3*time.Minute, fmt.Sprintf("an epoch before kill %d", kill), func(r runs.Run) bool {
			return len(r.Epochs) > epochs || finished(r)
		})
		if r.Status != "running" {
			t.Fatalf("before kill %d the run is %s: %s", kill, r.Status, r.Error)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.cmd.Wait()
		epochs = len(r.Epochs)
		p = startServer(t, bin, dir)
	}
	r := waitRun(t, p.url, id, 3*time.Minute, "fail", finished)
	want := fmt.Sprintf("the process stopped 3 times while training this run (last epoch %d)", len(r.Epochs))
	if r.Status != "failed" || r.Error != want || len(r.Epochs) < epochs {
		t.Fatalf("run %s with %d epochs and error %q, want failed with %q", r.Status, len(r.Epochs), r.Error, want)
	}
	// Its checkpoint went in the transaction that marked it failed.
	if got := runArtifacts(t, dir, id); len(got) > 0 {
		t.Errorf("the failed run's artifacts are still there: %q", got)
	}
	t.Logf("after 3 kills: %s", r.Error)
}
