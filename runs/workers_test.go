package runs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestWorkerRegistry(t *testing.T) { eachDB(t, testWorkerRegistry) }

// testWorkerRegistry registers two workers, refuses a second live process
// under a taken name, lists each worker's running runs and state, counts a
// worker that stops its heartbeat as lost (and lets a new process take its
// name), and removes an entry on deregister.
func testWorkerRegistry(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	db := dbtest.Open(t, d).Gorm
	ws, s, es := NewWorkerStore(db), NewStore(db), experiments.NewStore(db)
	beat := 200 * time.Millisecond
	a := Worker{Name: "box-a", Host: "a.lan", Devices: []string{"cpu", "cpu"}, Version: "v1", Heartbeat: beat}
	b := Worker{Name: "box-b", Host: "b.lan", Devices: []string{"cpu"}, Version: "v1", Heartbeat: time.Hour}
	if err := ws.Register(ctx, a, "inst-a"); err != nil {
		t.Fatal(err)
	}
	if err := ws.Register(ctx, b, "inst-b"); err != nil {
		t.Fatal(err)
	}
	if err := ws.Register(ctx, Worker{Name: "box-b", Heartbeat: time.Hour}, "other"); !errors.Is(err, ErrWorkerNameTaken) {
		t.Fatalf("second live process under box-b: %v, want ErrWorkerNameTaken", err)
	}
	r := newRun(t, s, es)
	if _, err := s.Start(ctx, r.ID, "cpu", "box-b", time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := ws.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "box-a" || got[1].Name != "box-b" {
		t.Fatalf("workers %+v", got)
	}
	if got[0].State != WorkerIdle || len(got[0].Runs) != 0 || !slices.Equal(got[0].Devices, a.Devices) || got[0].Host != "a.lan" || got[0].Version != "v1" {
		t.Fatalf("box-a: %+v", got[0])
	}
	if got[1].State != WorkerBusy || !slices.Equal(got[1].Runs, []int64{r.ID}) {
		t.Fatalf("box-b: %+v, want busy with run %d", got[1], r.ID)
	}
	run, err := s.Run(ctx, r.ID)
	if err != nil || run.Worker == nil || *run.Worker != "box-b" {
		t.Fatalf("run's worker %v (%v), want box-b", run.Worker, err)
	}
	if msg := Waiting(got, experiments.DeviceGPU); msg != "waiting for a gpu worker; none is connected" {
		t.Fatalf("gpu waiting: %q", msg)
	}
	if msg := Waiting(got, experiments.DeviceCPU); msg != "" {
		t.Fatalf("cpu waiting: %q", msg)
	}

	// box-a misses three heartbeats: lost, and its name may be taken.
	time.Sleep(LostAfterBeats*beat + 300*time.Millisecond)
	if got, err = ws.Workers(ctx); err != nil || got[0].State != WorkerLost {
		t.Fatalf("box-a after three missed beats: %+v (%v)", got[0], err)
	}
	if msg := Waiting(got[:1], experiments.DeviceAny); msg != "waiting for a worker; none is connected" {
		t.Fatalf("only a lost worker: %q", msg)
	}
	if err := ws.Beat(ctx, "box-a", "inst-a"); err != nil {
		t.Fatal(err)
	}
	if got, _ = ws.Workers(ctx); got[0].State != WorkerIdle {
		t.Fatalf("box-a after a beat: %s", got[0].State)
	}
	time.Sleep(LostAfterBeats*beat + 300*time.Millisecond)
	if err := ws.Register(ctx, a, "inst-a2"); err != nil {
		t.Fatalf("taking a lost worker's name: %v", err)
	}
	if err := ws.Beat(ctx, "box-a", "inst-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("beat of the replaced process: %v, want ErrNotFound", err)
	}
	if err := ws.Deregister(ctx, "box-a", "inst-a2"); err != nil {
		t.Fatal(err)
	}
	if got, _ = ws.Workers(ctx); len(got) != 1 || got[0].Name != "box-b" {
		t.Fatalf("after deregister: %+v", got)
	}
}

// TestBrokerAcrossProcesses connects two brokers through one PostgreSQL
// database, as the server and a worker are: what one publishes reaches the
// other's subscribers, decoded to the same values, in order.
func TestBrokerAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := dbtest.URL(t, migrations.Postgres)
	open := func() *migrations.Database {
		db, err := migrations.OpenDatabase(ctx, "", u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	server, worker := NewBroker(), NewBroker()
	for _, b := range []*Broker{server, worker} {
		stop, err := b.Connect(ctx, open())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	events, unsubscribe := server.Subscribe(7)
	defer unsubscribe()
	acc := 0.5
	sent := []Event{
		{RunID: 7, Kind: EventStatus, Data: StatusChange{Status: StatusRunning}},
		{RunID: 7, Kind: EventProgress, Data: Progress{Epoch: 1, Epochs: 2, Batch: 3, Batches: 10, ImagesPerSec: 100}},
		{RunID: 7, Kind: EventEpoch, Data: Epoch{Epoch: 1, Loss: 0.25, Accuracy: &acc, Heads: []HeadMetrics{}}},
		{RunID: 7, Kind: EventStatus, Data: StatusChange{Status: StatusCancelled}},
	}
	worker.Publish(Event{RunID: 8, Kind: EventStatus, Data: StatusChange{Status: StatusRunning}}) // another run's
	for _, e := range sent {
		worker.Publish(e)
	}
	for i, want := range sent {
		select {
		case got := <-events:
			if got.Kind != want.Kind || got.RunID != want.RunID {
				t.Fatalf("event %d: %+v, want %+v", i, got, want)
			}
			if ep, ok := got.Data.(Epoch); ok {
				if ep.Epoch != 1 || ep.Loss != 0.25 || ep.Accuracy == nil || *ep.Accuracy != acc {
					t.Fatalf("epoch %+v", ep)
				}
			} else if got.Data != want.Data {
				t.Fatalf("event %d data %+v, want %+v", i, got.Data, want.Data)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d (%s) never arrived", i, want.Kind)
		}
	}
}
