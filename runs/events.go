package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

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
	// Worker names the worker of the run's latest attempt when known ("" otherwise).
	Worker string `json:"worker"`
}

// Event is one thing that happened to a run: Data is a Progress, an Epoch or a StatusChange.
type Event struct {
	RunID int64
	Kind  string
	Data  any
}

// Broker fans a run's events out to whoever watches it (the SSE handlers).
// Slow subscribers miss progress events rather than slow training down.
//
// Within one process the broker is all there is. With Connect, it carries
// events between processes through the database (PostgreSQL's NOTIFY): a
// worker on another machine publishes, and the server's broker hands the
// event to the run page's stream.
type Broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan Event]struct{}
	// outbox, when set, takes events to send to every connected process
	// (this one included, which then delivers them to its own subscribers);
	// one goroutine sends them in order, so training never waits on the
	// database's round trip.
	outbox chan Event
	done   chan struct{} // closed when the broker disconnects
}

// EventsChannel is the notification channel run events travel on between processes.
const EventsChannel = "trainyard_run_events"

// Notifier is a database's publish and subscribe (PostgreSQL's NOTIFY and
// LISTEN; migrations.Database implements it).
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, fn func(payload string)) (stop func(), err error)
}

// Connect makes the broker publish through n and deliver to its subscribers
// what any connected process publishes, until stop is called. Events that
// cannot be sent are delivered in this process only.
func (b *Broker) Connect(ctx context.Context, n Notifier) (stop func(), err error) {
	unlisten, err := n.Listen(ctx, EventsChannel, func(payload string) {
		if e, err := decodeEvent(payload); err == nil {
			b.deliver(e)
		}
	})
	if err != nil {
		return nil, err
	}
	outbox, done := make(chan Event, 256), make(chan struct{})
	sent := make(chan struct{})
	send := func(e Event) {
		payload, err := encodeEvent(e)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = n.Notify(ctx, EventsChannel, payload)
			cancel()
		}
		if err != nil {
			b.deliver(e) // at least this process's subscribers get it
		}
	}
	go func() {
		defer close(sent)
		for {
			select {
			case e := <-outbox:
				send(e)
			case <-done:
				for {
					select {
					case e := <-outbox:
						send(e)
					default:
						return
					}
				}
			}
		}
	}()
	b.mu.Lock()
	b.outbox, b.done = outbox, done
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.outbox, b.done = nil, nil
			b.mu.Unlock()
			close(done)
			<-sent
			unlisten()
		})
	}, nil
}

// wireEvent is an Event as it travels between processes.
type wireEvent struct {
	RunID int64           `json:"run"`
	Kind  string          `json:"kind"`
	Data  json.RawMessage `json:"data"`
}

// maxNotifyBytes is the most a notification may carry (PostgreSQL's limit is 8000).
const maxNotifyBytes = 7900

func encodeEvent(e Event) (string, error) {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(wireEvent{RunID: e.RunID, Kind: e.Kind, Data: data})
	if err != nil {
		return "", err
	}
	if len(b) > maxNotifyBytes {
		return "", fmt.Errorf("run %d %s event: %d bytes, over %d", e.RunID, e.Kind, len(b), maxNotifyBytes)
	}
	return string(b), nil
}

func decodeEvent(payload string) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return Event{}, err
	}
	e := Event{RunID: w.RunID, Kind: w.Kind}
	var err error
	switch w.Kind {
	case EventProgress:
		var p Progress
		err = json.Unmarshal(w.Data, &p)
		e.Data = p
	case EventEpoch:
		var ep Epoch
		err = json.Unmarshal(w.Data, &ep)
		e.Data = ep
	case EventStatus:
		var sc StatusChange
		err = json.Unmarshal(w.Data, &sc)
		e.Data = sc
	default:
		err = fmt.Errorf("unknown event kind %q", w.Kind)
	}
	return e, err
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

// Publish sends e to every subscriber of its run, in every connected
// process, without blocking; a full subscriber misses e unless it is an
// epoch or status event, which make room by dropping the oldest.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	out, done := b.outbox, b.done
	b.mu.Unlock()
	if out != nil {
		if e.Kind == EventProgress {
			select {
			case out <- e:
			default: // full: a later progress event replaces it
			}
			return
		}
		select {
		case out <- e:
			return // it comes back through Listen
		case <-done:
		}
	}
	b.deliver(e)
}

// deliver hands e to this process's subscribers of its run.
func (b *Broker) deliver(e Event) {
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
