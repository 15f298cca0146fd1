package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
)

// BenchmarkRunsTableAtScale measures the runs table and a compare of 100
// runs over a SQLite database seeded with TRAINYARD_BENCH_RUNS runs (default
// 100,000) of 100 epochs each, ten runs per experiment:
//
//	go test -run '^$' -bench RunsTableAtScale -benchtime 20x ./runs/
//	TRAINYARD_BENCH_RUNS=1000000 go test -run '^$' -bench RunsTableAtScale -benchtime 10x -timeout 2h ./runs/
//
// The seeded data dir is kept under the system's temp dir (trainyard-bench-N)
// and reused by later runs of the benchmark; seeding 100,000 runs and their
// 10,000,000 epochs takes a few minutes. ns/op is the server time of one
// page or one compare (the store's query and decoding, not HTTP).
func BenchmarkRunsTableAtScale(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("TRAINYARD_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("trainyard-bench-%d", n))
	if _, err := os.Stat(dir); err != nil {
		start := time.Now()
		os.RemoveAll(dir + ".tmp")
		if err := seedScale(ctx, dir+".tmp", n); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(dir+".tmp", dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d runs with 100 epochs each in %s", n, time.Since(start).Round(time.Second))
	}
	db, err := migrations.OpenDatabase(ctx, dir, "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	gdb := db.Gorm
	s := NewStore(gdb)

	pages := []struct {
		name string
		q    ListQuery
	}{
		{"first-page", ListQuery{}},
		{"sorted-by-test-accuracy", ListQuery{Sort: "-test_accuracy"}},
		{"sorted-by-epochs-ascending", ListQuery{Sort: "epochs"}},
		{"filtered-status", ListQuery{Status: StatusFailed}},
		{"filtered-query", ListQuery{Q: "learning_rate < 0.001 and epochs >= 50 and test_accuracy > 0.98", Sort: "-test_accuracy"}},
		{"filtered-preset-search", ListQuery{Preset: "mnist-cnn1", Search: "sweep 1"}},
		{"tag", ListQuery{Tag: "baseline"}},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.List(ctx, p.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Runs) == 0 {
					b.Fatalf("%s: empty page", p.name)
				}
			}
		})
	}
	b.Run("tenth-page", func(b *testing.B) {
		q := ListQuery{Sort: "-test_accuracy"}
		for range 9 {
			page, err := s.List(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			q.Cursor = *page.NextCursor
		}
		for b.Loop() {
			if _, err := s.List(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compare-100", func(b *testing.B) {
		ids := make([]int64, 100)
		for i := range ids {
			ids[i] = int64(1 + i*(n/100))
		}
		for b.Loop() {
			rs, err := s.RunsWithEpochs(ctx, ids)
			if err != nil {
				b.Fatal(err)
			}
			c := Compare(rs)
			c.SetTarget(0.95)
			if _, err := GroupBy(rs, []string{"epochs"}); err != nil || len(c.Summary) != 100 {
				b.Fatal(err)
			}
		}
	})
}

// seedScale writes n runs of 100 epochs each (ten per experiment, varied
// settings, most succeeded) into a new data dir's SQLite database.
func seedScale(ctx context.Context, dir string, n int) error {
	db, err := migrations.OpenDatabase(ctx, dir, "")
	if err != nil {
		return err
	}
	defer db.Close()
	sqlDB := db.SQL
	if _, err := sqlDB.ExecContext(ctx, "PRAGMA synchronous=OFF"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	presets := []string{"mnist-nn1", "mnist-nn2", "mnist-cnn1", "mnist-cnn2"}
	specs := map[string]string{}
	params := map[string]int{}
	for _, name := range presets {
		p, _ := experiments.PresetByName(name)
		b, _ := json.Marshal(p.Spec)
		specs[name], params[name] = string(b), p.Spec.Summarize().TotalParams
	}
	test := `{"images":10000,"loss":0.1,"accuracy":%g,"ms_per_image":0.01,"confusion":null,"classes":null,"misclassified":null,"best_val_accuracy":%g,"best_epoch":%d}`
	now := time.Now().UTC()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var epochs strings.Builder
	var eargs []any
	flush := func() error {
		if len(eargs) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, learning_rate, seconds) VALUES "+strings.TrimSuffix(epochs.String(), ","), eargs...)
		epochs.Reset()
		eargs = eargs[:0]
		return err
	}
	for i := range n {
		id := int64(i + 1)
		preset := presets[i%len(presets)]
		if i%10 == 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO experiments (id, name, preset, spec, repeats, created_at) VALUES (?, ?, ?, ?, 10, ?)",
				id/10+1, fmt.Sprintf("sweep %d of %s", i/10, preset), preset, specs[preset], now); err != nil {
				return err
			}
		}
		lr := []float64{0.01, 0.003, 0.001, 0.0003}[rng.IntN(4)]
		ep := []int{10, 25, 50, 100}[rng.IntN(4)]
		status, acc, best := "succeeded", 0.9+0.1*rng.Float64(), 0.9+0.1*rng.Float64()
		var testJSON, testAcc any = fmt.Sprintf(test, acc, best, ep), acc
		if i%50 == 7 {
			status, testJSON, testAcc = "failed", nil, nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, experiment_id, status, spec, test, created_at, train_seconds, test_accuracy,
			best_val_accuracy, params, epochs, batch_size, learning_rate, optimizer, dataset, seed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 256, ?, 'adam', 'mnist', ?)`,
			id, i/10+1, status, specs[preset], testJSON, now.Add(time.Duration(i)*time.Second), 100*rng.Float64(), testAcc,
			best, params[preset], ep, lr, i%10); err != nil {
			return err
		}
		if i%100 == 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO run_tags (run_id, tag) VALUES (?, 'baseline')", id); err != nil {
				return err
			}
		}
		for e := 1; e <= 100; e++ {
			epochs.WriteString("(?,?,?,?,?,?,?,?),")
			v := float64(e) / 100
			eargs = append(eargs, id, e, 1-v*0.9, 0.5+v*0.45, 1.1-v*0.9, 0.5+v*0.44, lr, 0.5)
		}
		if len(eargs) >= 8*100*10 {
			if err := flush(); err != nil {
				return err
			}
		}
		if i%20000 == 19999 {
			if err := flush(); err != nil {
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			if tx, err = sqlDB.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = sqlDB.ExecContext(ctx, "ANALYZE")
	return err
}
