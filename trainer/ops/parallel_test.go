package ops

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelForCoversEachIndexOnce runs parallelFor through the pool's
// paths: helpers still spinning from the call before, helpers asleep after
// spinFor, callers racing for the pool (the losers start goroutines) and a
// call nested inside a range. Each index must be visited exactly once and
// each range numbered below workers.
func TestParallelForCoversEachIndexOnce(t *testing.T) {
	check := func(t *testing.T, n, workers int) {
		t.Helper()
		seen := make([]atomic.Int32, n)
		parallelFor(n, workers, func(w, lo, hi int) {
			if w < 0 || w >= workers || lo < 0 || hi > n || lo >= hi {
				t.Errorf("range %d [%d, %d) of n=%d workers=%d", w, lo, hi, n, workers)
				return
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d workers=%d: index %d visited %d times", n, workers, i, c)
			}
		}
	}
	t.Run("back to back", func(t *testing.T) {
		for i := range 200 {
			check(t, 1+i%37, 1+i%5)
		}
	})
	t.Run("after the helpers sleep", func(t *testing.T) {
		for range 3 {
			check(t, 64, 4)
			time.Sleep(2 * spinFor)
		}
	})
	t.Run("concurrent callers", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					check(t, 10+g+i%13, 2+g%3)
				}
			}()
		}
		wg.Wait()
	})
	t.Run("nested", func(t *testing.T) {
		var total atomic.Int64
		parallelFor(4, 2, func(_, lo, hi int) {
			for range hi - lo {
				parallelFor(50, 2, func(_, lo, hi int) { total.Add(int64(hi - lo)) })
			}
		})
		if total.Load() != 200 {
			t.Fatalf("nested calls covered %d indices, want 200", total.Load())
		}
	})
}
