package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// parallel runs op(i) for i in [0, n) from callers goroutines.
func parallel(n, callers int, op func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := op(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkSaveRuns records run outcomes durably (fsync on) from 1 to 256
// concurrent callers: with one caller every outcome is a commit; with many,
// callers share commits, so runs/s grows with the callers.
func BenchmarkSaveRuns(b *testing.B) {
	for _, callers := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s, _ := MustOpen(b)
			const tasks, runs = 64, 1000
			for i := range tasks {
				MustCreate(b, s, NewTask(fmt.Sprint("t", i), runs))
			}
			worker := "12D3KooWLdxWcCwAd6ZN2MAXmPwvL6SvMm7eyrNMLyq2PBUe5drP"
			b.ResetTimer()
			err := parallel(b.N, callers, func(i int) error {
				r := task.Run{Index: (i / tasks) % runs, Attempt: 1, Status: task.Succeeded, Worker: worker,
					Started: epoch, Ended: epoch.Add(time.Millisecond), Result: fmt.Sprint(i)}
				return s.SaveRuns(fmt.Sprint("t", i%tasks), r)
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

// BenchmarkCreateTask stores tasks durably: single-run tasks from one
// caller and from 64, and tasks of 100,000 runs from one caller.
func BenchmarkCreateTask(b *testing.B) {
	for _, bc := range []struct{ callers, runs int }{{1, 1}, {64, 1}, {1, 100_000}} {
		b.Run(fmt.Sprintf("callers=%d/runs=%d", bc.callers, bc.runs), func(b *testing.B) {
			s, _ := MustOpen(b)
			b.ResetTimer()
			err := parallel(b.N, bc.callers, func(i int) error {
				return s.CreateTask(NewTask(fmt.Sprint("task-", i), bc.runs))
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkHundredThousandTasks creates 100,000 single-run tasks durably
// (64 callers), then reopens the file and loads them all, as a restarted
// gateway does. It reports the file size and both times.
func BenchmarkHundredThousandTasks(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: skipped with -short")
	}
	const n = 100_000
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "shoal.db")
		s := MustOpenPath(b, path, store.Options{})
		start := time.Now()
		err := parallel(n, 64, func(i int) error {
			tk := NewTask(fmt.Sprintf("task-%06d", i), 1)
			tk.Spec.Description = "Hash puzzle"
			tk.Spec.Input, tk.Spec.Difficulty = ptr(int64(i)), ptr(int64(3))
			return s.CreateTask(tk)
		})
		if err != nil {
			b.Fatal(err)
		}
		created := time.Since(start)
		s = MustReopen(b, s, path)
		start = time.Now()
		count := 0
		if err := s.LoadTasks(func(task.Task) error { count++; return nil }); err != nil || count != n {
			b.Fatalf("loaded %d tasks: %v", count, err)
		}
		loaded := time.Since(start)
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		b.ReportMetric(float64(n)/created.Seconds(), "created/s")
		b.ReportMetric(loaded.Seconds()*1000, "load-ms")
		b.Logf("%d tasks: file %.1f MiB (%d B/task), create %v, load %v, stats %+v",
			n, float64(fi.Size())/(1<<20), fi.Size()/n, created.Round(time.Millisecond), loaded.Round(time.Millisecond), s.Stats())
	}
}
