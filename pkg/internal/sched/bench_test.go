package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// A run's way through the scheduler (queued, placed, finished) costs the
// same in a task of 100,000 runs as in one of 1,000: the benchmark prints
// the cost per run of both and their ratio (1 is flat; before runs kept
// a tally, every change of a run looked at all runs of its task).
func BenchmarkRunCostByTaskSize(b *testing.B) {
	perRun := func(repeats int) time.Duration {
		s := sched.New(sched.DefaultConfig())
		s.Offer("w", sched.Offer{Slots: 64})
		sp := spec("big")
		sp.Repeats = repeats
		start := time.Now()
		mustSubmit(b, s, t0, sp)
		for done := 0; done < repeats; {
			ds := s.Assign(t0)
			if len(ds) == 0 {
				b.Fatalf("nothing placed after %d of %d runs", done, repeats)
			}
			for _, d := range ds {
				finish(s, t0, d.Ref, took(time.Millisecond), "w")
			}
			done += len(ds)
			s.TakeUpdates()
		}
		return time.Since(start) / time.Duration(repeats)
	}
	for range b.N {
		small, large := perRun(1_000), perRun(100_000)
		fmt.Printf("scheduler cost a run: task of 1,000 runs %v, of 100,000 runs %v: ratio %.2f\n", small, large, float64(large)/float64(small))
		b.ReportMetric(float64(large)/float64(small), "ratio")
	}
}
