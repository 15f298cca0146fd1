package runs

import "sync"

// Event kinds published while a run trains.
const (
	EventProgress = "progress"
	EventEpoch    = "epoch"
	EventStatus   = "status"
)

// Progress is where a training run is within its epoch and its run.
type Progress struct {
	Epoch        int     `json:"epoch"`
	Epochs       int     `json:"epochs"`
	Batch        int     `json:"batch"`
	Batches      int     `json:"batches"`
	ImagesPerSec float64 `json:"images_per_sec"`
	ETASeconds   float64 `json:"eta_seconds"`
}

// StatusChange is a run's new status, with the error of a failed run.
type StatusChange struct {
	Status Status `json:"status"`
	Error  string `json:"error"`
}

// Event is one thing that happened to a run: Data is a Progress, an Epoch or a StatusChange.
type Event struct {
	RunID int64
	Kind  string
	Data  any
}

// Broker fans a run's events out to whoever watches it (the SSE handlers).
// Slow subscribers miss progress events rather than slow training down.
type Broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan Event]struct{}
}

// NewBroker returns an empty Broker.
func NewBroker() *Broker {
	return &Broker{subs: map[int64]map[chan Event]struct{}{}}
}

// Subscribe returns a channel of the run's events and a function that ends the subscription.
func (b *Broker) Subscribe(runID int64) (<-chan Event, func()) {
	ch := make(chan Event, 64)
	b.mu.Lock()
	if b.subs[runID] == nil {
		b.subs[runID] = map[chan Event]struct{}{}
	}
	b.subs[runID][ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[runID], ch)
			if len(b.subs[runID]) == 0 {
				delete(b.subs, runID)
			}
			b.mu.Unlock()
		})
	}
}

// Publish sends e to every subscriber of its run without blocking; a full
// subscriber misses e unless it is an epoch or status event, which wait for room.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[e.RunID] {
		if e.Kind == EventProgress {
			select {
			case ch <- e:
			default:
			}
			continue
		}
		select {
		case ch <- e:
		default:
			// Make room by dropping the oldest event, then deliver this one.
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- e:
			default:
			}
		}
	}
}
