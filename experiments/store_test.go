package experiments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// eachDB runs test once on each database, as parallel subtests.
func eachDB(t *testing.T, test func(t *testing.T, d migrations.Dialect)) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		test(t, d)
	})
}

func TestExperimentStore(t *testing.T) {
	eachDB(t, func(t *testing.T, d migrations.Dialect) {
		ctx := context.Background()
		s := NewStore(dbtest.Open(t, d).Gorm)
		p, _ := PresetByName("mnist-cnn1")
		at := time.Date(2026, 12, 1, 10, 0, 0, 500000000, time.UTC)
		var ids []int64
		for i, name := range []string{"first", "second", "third"} {
			e := Experiment{Name: name, Preset: p.Name, Spec: p.Spec, Repeats: i + 1, CreatedAt: at}
			if err := s.CreateExperiment(ctx, &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		got, err := s.Experiment(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "second" || got.Repeats != 2 || got.Preset != p.Name || !got.CreatedAt.Equal(at) ||
			len(got.Spec.Layers) != len(p.Spec.Layers) || got.Spec.Epochs != p.Spec.Epochs {
			t.Fatalf("experiment read back %+v", got)
		}
		list, err := s.Experiments(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
			t.Fatalf("newest two: %+v", list)
		}
		if _, err := s.Experiment(ctx, 12345); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing experiment: %v, want ErrNotFound", err)
		}
	})
}

func TestDatasetStore(t *testing.T) {
	eachDB(t, func(t *testing.T, d migrations.Dialect) {
		ctx := context.Background()
		s := NewDatasetStore(dbtest.Open(t, d).Gorm)
		zip := Dataset{Name: "upload", Images: 100, Path: "datasets/1"}
		folder := Dataset{Name: "folder", Images: 250, Path: "datasets/2", Source: "/data/thsr"}
		for _, ds := range []*Dataset{&zip, &folder} {
			if err := s.CreateDataset(ctx, ds); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateDataset(ctx, &Dataset{Name: "dup", Images: 1, Path: "datasets/2"}); err == nil {
			t.Fatal("a second dataset at the same path was stored")
		}
		got, err := s.Dataset(ctx, folder.ID)
		if err != nil || got.Name != "folder" || got.Images != 250 || got.Source != "/data/thsr" {
			t.Fatalf("dataset %+v, %v", got, err)
		}
		if got, err := s.DatasetBySource(ctx, "/data/thsr"); err != nil || got.ID != folder.ID {
			t.Fatalf("by source: %+v, %v", got, err)
		}
		if _, err := s.DatasetBySource(ctx, ""); !errors.Is(err, ErrDatasetNotFound) {
			t.Fatalf("by empty source: %v, want ErrDatasetNotFound (an upload has no source)", err)
		}
		list, err := s.Datasets(ctx)
		if err != nil || len(list) != 2 || list[0].ID != folder.ID {
			t.Fatalf("datasets %+v, %v", list, err)
		}
		if _, err := s.Dataset(ctx, 999); !errors.Is(err, ErrDatasetNotFound) {
			t.Fatalf("missing dataset: %v", err)
		}
	})
}

func TestSuiteStore(t *testing.T) {
	eachDB(t, func(t *testing.T, d migrations.Dialect) {
		ctx := context.Background()
		db := dbtest.Open(t, d).Gorm
		es, ss := NewStore(db), NewSuiteStore(db)
		p, _ := PresetByName("mnist-nn1")
		members := map[string]int64{}
		for _, key := range []string{"nn1-30", "nn1-50"} {
			e := Experiment{Name: key, Preset: p.Name, Spec: p.Spec, Repeats: 1}
			if err := es.CreateExperiment(ctx, &e); err != nil {
				t.Fatal(err)
			}
			members[key] = e.ID
		}
		su := Suite{Name: "seed report", Kind: "seed-report", Members: members}
		if err := ss.CreateSuite(ctx, &su); err != nil {
			t.Fatal(err)
		}
		got, err := ss.Suite(ctx, su.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != su.Name || got.Kind != su.Kind || len(got.Members) != 2 || got.Members["nn1-50"] != members["nn1-50"] {
			t.Fatalf("suite %+v", got)
		}
		bad := Suite{Name: "dangling", Members: map[string]int64{"x": 424242}}
		if err := ss.CreateSuite(ctx, &bad); err == nil {
			t.Fatal("a suite member naming no experiment was stored")
		}
		if _, err := ss.Suite(ctx, 999); !errors.Is(err, ErrSuiteNotFound) {
			t.Fatalf("missing suite: %v", err)
		}
	})
}
