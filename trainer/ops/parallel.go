package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long a helper goroutine of the pool keeps looking for its
// next range after finishing one before it sleeps. A training step calls
// parallelFor dozens of times with serial work in between; a helper that slept
// in those gaps would have to be woken for every call, which on a virtual
// machine whose idle CPU has halted takes 100-150 us (measured: a 256x256x784
// product took 400 us on two goroutines started with go, 250 us on one). While
// it waits the helper yields its processor every yieldEvery, so other
// goroutines still run.
const spinFor = 500 * time.Microsecond

// helperPool is the set of helper goroutines parallelFor hands ranges to. One
// parallelFor uses it at a time; a concurrent or nested call, which finds it
// taken, starts plain goroutines instead, as does any call with one
// processor.
var helperPool struct {
	sync.Mutex
	helpers []*helper
}

// helper is one goroutine of the pool. The caller of parallelFor writes fn,
// w, lo and hi, then increments posted; the helper runs the range and stores
// posted's value into done.
type helper struct {
	fn        func(w, lo, hi int)
	w, lo, hi int

	posted   atomic.Uint64
	done     atomic.Uint64
	sleeping atomic.Bool
	wake     chan struct{}
}

func (h *helper) loop() {
	var taken uint64
	for {
		if !h.wait(taken) {
			h.sleeping.Store(true)
			if h.posted.Load() == taken {
				<-h.wake
			} else if !h.sleeping.CompareAndSwap(true, false) {
				// The caller saw us asleep and is sending a wake-up.
				<-h.wake
			}
			continue
		}
		taken = h.posted.Load()
		h.fn(h.w, h.lo, h.hi)
		h.fn = nil
		h.done.Store(taken)
	}
}

// wait spins until a range is posted after taken; false means spinFor
// passed without one.
func (h *helper) wait(taken uint64) bool {
	var s spinner
	for h.posted.Load() == taken {
		if !s.spin(spinFor) {
			return false
		}
	}
	return true
}

// spinner paces a busy-wait loop: spin reads the clock every 256 turns,
// yields the processor every yieldEvery so that other goroutines run (a
// yield on every turn makes the waiters contend for the scheduler's lock),
// and reports false once limit has passed since the first turn.
type spinner struct {
	turns        int
	start, yield time.Time
}

const yieldEvery = 20 * time.Microsecond

func (s *spinner) spin(limit time.Duration) bool {
	s.turns++
	if s.turns&255 != 1 {
		return true
	}
	now := time.Now()
	if s.start.IsZero() {
		s.start, s.yield = now, now
		return true
	}
	if now.Sub(s.yield) > yieldEvery {
		runtime.Gosched()
		s.yield = now
	}
	return now.Sub(s.start) <= limit
}

// post hands the helper one range.
func (h *helper) post(fn func(w, lo, hi int), w, lo, hi int) {
	h.fn, h.w, h.lo, h.hi = fn, w, lo, hi
	h.posted.Add(1)
	if h.sleeping.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

// parallelFor splits [0, n) into at most workers contiguous ranges and runs
// fn(w, lo, hi) on each, where w < workers numbers the range; the last range
// runs on the calling goroutine. It returns when all are done.
func parallelFor(n, workers int, fn func(w, lo, hi int)) {
	r, chunk := numRanges(n, workers)
	if r <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	// With one processor a helper could only run when the caller yields:
	// goroutines that run while the caller waits for them do better.
	if runtime.GOMAXPROCS(0) == 1 || !helperPool.TryLock() {
		goParallelFor(r, n, chunk, fn)
		return
	}
	defer helperPool.Unlock()
	for len(helperPool.helpers) < r-1 {
		h := &helper{wake: make(chan struct{}, 1)}
		helperPool.helpers = append(helperPool.helpers, h)
		go h.loop()
	}
	hs := helperPool.helpers[:r-1]
	for w, h := range hs {
		h.post(fn, w, w*chunk, (w+1)*chunk)
	}
	fn(r-1, (r-1)*chunk, n)
	for _, h := range hs {
		var s spinner
		for want := h.posted.Load(); h.done.Load() != want; {
			s.spin(0)
		}
	}
}

// ParallelFor runs fn over [0, n) split into one range per processor, on the
// ops' helper goroutines and the caller, and returns when all are done; w
// numbers the range. It is for loops outside the ops that are worth
// splitting, like the optimizer's update. fn is not copied: a caller that
// passes the same function value every time allocates nothing.
func ParallelFor(n int, fn func(w, lo, hi int)) { parallelFor(n, workers(), fn) }

// goParallelFor is parallelFor on fresh goroutines, for a call made while
// the pool is busy.
func goParallelFor(r, n, chunk int, fn func(w, lo, hi int)) {
	var wg sync.WaitGroup
	for w := 0; w < r-1; w++ {
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			fn(w, lo, hi)
		}(w, w*chunk, (w+1)*chunk)
	}
	fn(r-1, (r-1)*chunk, n)
	wg.Wait()
}

// numRanges returns how many ranges parallelFor splits [0, n) into and the
// length of each but the last.
func numRanges(n, workers int) (ranges, chunk int) {
	workers = max(1, min(workers, n))
	chunk = max(1, (n+workers-1)/workers)
	return (n + chunk - 1) / chunk, chunk
}
