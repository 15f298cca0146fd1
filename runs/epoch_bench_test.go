package runs

import (
	"context"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

// BenchmarkRecordEpoch measures the epoch write a worker makes after every
// epoch (the lease-conditional update, the epoch row and the run's summary
// columns in one transaction), one after another, on each database; with
// -benchtime it reports epochs/s.
func BenchmarkRecordEpoch(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := dbtest.Open(b, d).Gorm
			s, es := NewStore(db), experiments.NewStore(db)
			p, _ := experiments.PresetByName("mnist-nn1")
			e := experiments.Experiment{Name: "bench", Preset: p.Name, Spec: p.Spec, Repeats: 1}
			if err := es.CreateExperiment(ctx, &e); err != nil {
				b.Fatal(err)
			}
			r, err := s.CreateRun(ctx, e.ID, p.Spec)
			if err != nil {
				b.Fatal(err)
			}
			l, err := s.Start(ctx, r.ID, "cpu", "bench", time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				ep := Epoch{Epoch: i%1000 + 1, Loss: 0.5, Accuracy: Float(0.9), ValLoss: Float(0.4), ValAccuracy: Float(0.91), LearningRate: 0.001, Seconds: 1}
				if err := s.RecordEpoch(ctx, l, ep, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "epochs/s")
		})
	}
}

// BenchmarkEventRelay measures run events crossing processes through
// PostgreSQL's notifications: one broker publishes epoch events, another
// connected to the same database receives them.
func BenchmarkEventRelay(b *testing.B) {
	ctx := context.Background()
	u := dbtest.URL(b, migrations.Postgres)
	var brokers [2]*Broker
	for i := range brokers {
		db, err := migrations.OpenDatabase(ctx, "", u)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		brokers[i] = NewBroker()
		stop, err := brokers[i].Connect(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
	}
	events, unsubscribe := brokers[1].Subscribe(1)
	defer unsubscribe()
	b.ResetTimer()
	for i := range b.N {
		brokers[0].Publish(Event{RunID: 1, Kind: EventEpoch, Data: Epoch{Epoch: i + 1, Loss: 0.5, Accuracy: Float(0.9)}})
		select {
		case <-events:
		case <-time.After(10 * time.Second):
			b.Fatal("event lost")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
