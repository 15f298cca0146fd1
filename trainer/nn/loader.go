package nn

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/trainyard/trainyard/trainer/dataset"
)

// The epoch pipeline. A pass over a set (a training epoch, a validation or
// test evaluation, a Predict over several batches) runs batch after batch
// through one of the model's machines. While batch b runs, a loader
// goroutine gathers batch b+1 (the images at the pass's next indices and
// their labels) into the model's other input slot. When the step ends, the
// pass binds that slot to the graph's input nodes (the image batch x, the
// fast engine's flat view of it, and each head's labels) and hands the slot
// it has just used back to the loader for batch b+2. So the training
// goroutine copies nothing, and the loader never writes a slot the graph is
// bound to. Batches arrive in the order a sequential loader would load them,
// with the same values, so training is bit for bit the same either way.
//
// A pass of one batch loads it in place, on the caller's goroutine. The
// loader goroutine ends when its pass has loaded every batch or when the
// pass closes it, and close waits for it: nothing runs after the pass.

// inputSlot is one set of tensors the graph's input nodes can be bound to.
type inputSlot struct {
	x      *tensor.Dense   // (batch, c, h, w) images
	xFlat  *tensor.Dense   // (batch, c*h*w) view of x's values, when the graph has one (Model.xFlat)
	labels []*tensor.Dense // one per head, (batch) class indexes as float32
}

// bind makes s the slot the graph reads.
func (m *Model) bind(s *inputSlot) error {
	if err := G.Let(m.x, s.x); err != nil {
		return fmt.Errorf("nn: binding the input: %w", err)
	}
	if m.xFlat != nil {
		if err := G.Let(m.xFlat, s.xFlat); err != nil {
			return fmt.Errorf("nn: binding the input: %w", err)
		}
	}
	for h, l := range m.labels {
		if err := G.Let(l, s.labels[h]); err != nil {
			return fmt.Errorf("nn: binding the labels: %w", err)
		}
	}
	m.in = s
	return nil
}

// otherSlot returns the model's input slot that is not bound to the graph;
// the second slot is made the first time a pass of several batches needs it.
func (m *Model) otherSlot() *inputSlot {
	if m.spare == nil {
		m.spare = m.newSlot()
	}
	if m.in == m.spare {
		return m.first
	}
	return m.spare
}

// newSlot makes an input slot of the model's shapes.
func (m *Model) newSlot() *inputSlot {
	s := &inputSlot{x: newDense(m.in.x.Shape()...)}
	if m.xFlat != nil {
		s.xFlat = tensor.New(tensor.WithShape(m.in.xFlat.Shape()...), tensor.WithBacking(s.x.Float32s()))
	}
	for range m.in.labels {
		s.labels = append(s.labels, newDense(m.batch))
	}
	return s
}

// gather copies the examples of set at idx (at most one batch) into s,
// zero-filling the rest of the batch. It reads only s, set and the model's
// fixed sizes, so the loader goroutine may run it.
func (m *Model) gather(s *inputSlot, set *dataset.Set, idx []int) {
	x := s.x.Float32s()
	for j := range m.batch {
		dst := x[j*m.size : (j+1)*m.size]
		if j >= len(idx) {
			clear(dst)
			for _, lt := range s.labels {
				lt.Float32s()[j] = 0
			}
			continue
		}
		copy(dst, set.Pixels(idx[j]))
		for h, lt := range s.labels {
			lt.Float32s()[j] = float32(set.Y[idx[j]*set.Heads+h])
		}
	}
}

// batchLoader loads the batches 0..n-1 of one pass in order, each into a
// slot that load then binds to the graph; see the epoch pipeline above.
type batchLoader struct {
	m     *Model
	n     int                       // batches in the pass
	fill  func(b int, s *inputSlot) // writes batch b into s
	next  int                       // the batch load binds next
	inUse *inputSlot                // the slot bound last, handed back at the next load
	free  chan *inputSlot           // slots the goroutine may fill
	ready chan loadedBatch          // filled slots, in batch order
	stop  chan struct{}             // closed by close
	done  chan struct{}             // closed when the goroutine has returned; nil for a pass loaded in place
}

// loadedBatch is a slot the loader goroutine filled, or why it could not.
type loadedBatch struct {
	s   *inputSlot
	err error
}

// newLoader starts loading a pass of n batches; fill writes batch b into a
// slot. With several batches (and m.sequential unset) fill runs on a
// goroutine of the loader's own, so it must read nothing the pass changes.
// The caller must close the loader.
func (m *Model) newLoader(n int, fill func(b int, s *inputSlot)) *batchLoader {
	l := &batchLoader{m: m, n: n, fill: fill}
	if n < 2 || m.sequential {
		return l
	}
	// There are two slots and ready and free have room for both, so no
	// send on them ever blocks.
	l.free = make(chan *inputSlot, 2)
	l.ready = make(chan loadedBatch, 2)
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	l.free <- m.in
	l.free <- m.otherSlot()
	go l.run()
	if m.onLoader != nil {
		m.onLoader(l.done)
	}
	return l
}

// run is the loader goroutine: it fills a free slot with each batch in
// turn until the pass has them all, fill fails, or close stops it.
func (l *batchLoader) run() {
	defer close(l.done)
	for b := range l.n {
		var s *inputSlot
		select {
		case s = <-l.free:
		case <-l.stop:
			return
		}
		err := l.gather(b, s)
		l.ready <- loadedBatch{s, err}
		if err != nil {
			return
		}
	}
}

// gather runs fill for batch b and turns a panic in it into an error, so
// that a bad index fails the pass instead of the process.
func (l *batchLoader) gather(b int, s *inputSlot) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: loading batch %d: %v", b+1, r)
		}
	}()
	l.fill(b, s)
	return nil
}

// load binds the pass's next batch to the graph, waiting for the loader
// goroutine if it is not ready yet. The slot of the batch before goes back
// to the goroutine: its step has ended.
func (l *batchLoader) load() error {
	if l.next >= l.n {
		return errors.New("nn: loading past the last batch of the pass")
	}
	b := l.next
	l.next++
	if l.done == nil {
		if err := l.gather(b, l.m.in); err != nil {
			return err
		}
		return l.m.bind(l.m.in)
	}
	ld := <-l.ready
	if ld.err != nil {
		return ld.err
	}
	if err := l.m.bind(ld.s); err != nil {
		return err
	}
	if l.inUse != nil {
		l.free <- l.inUse
	}
	l.inUse = ld.s
	return nil
}

// close stops the loader goroutine and waits until it has returned.
func (l *batchLoader) close() {
	if l.done == nil {
		return
	}
	close(l.stop)
	<-l.done
}
