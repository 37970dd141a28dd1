package sched_test

import (
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// took is a successful outcome whose run took d on its worker.
func took(d time.Duration) task.Outcome {
	return task.Outcome{OK: true, Result: "1", Timing: task.Timing{Instantiate: d / 10, Exec: d - d/10}}
}

// many submits one task of n runs of module.
func many(t *testing.T, s *sched.Scheduler, id, module string, n int) {
	t.Helper()
	sp := spec(id)
	sp.Module, sp.Repeats = module, n
	mustSubmit(t, s, t0, sp)
}

// learnShort runs one run of mod on worker, taking a microsecond, so that
// the scheduler knows mod's runs are short.
func learnShort(t *testing.T, s *sched.Scheduler, worker sched.WorkerID) {
	t.Helper()
	many(t, s, "learn", mod, 1)
	ds := s.Assign(t0)
	if len(ds) != 1 || ds[0].Worker != worker {
		t.Fatalf("learning run placed as %+v, want one on %s", ds, worker)
	}
	finish(s, t0, ds[0].Ref, took(time.Microsecond), worker)
}

func perWorker(ds []sched.Dispatch) map[sched.WorkerID]int {
	got := map[sched.WorkerID]int{}
	for _, d := range ds {
		got[d.Worker]++
	}
	return got
}

// A module's first run takes only a slot; once its runs are known to be
// short, a worker takes Depth of them per slot, marked Short so that the
// gateway sends them in one call. Counts and listings show at most every
// slot used and the rest as waiting.
func TestShortRunsFillDepthPerSlot(t *testing.T) {
	cfg := sched.DefaultConfig()
	cfg.Depth = 8
	s := sched.New(cfg)
	s.Offer("w", sched.Offer{Slots: 2})
	many(t, s, "t", mod, 100)
	first := s.Assign(t0)
	if len(first) != 2 || first[0].Short || first[1].Short {
		t.Fatalf("a module never run: want its slots only, not short: %+v", first)
	}
	finish(s, t0, first[0].Ref, took(100*time.Microsecond), "w")
	if ds := s.Assign(t0); len(ds) != 1 || !ds[0].Short {
		t.Fatalf("while a run of unknown length holds a slot: %+v, want one short run in the other", ds)
	}
	finish(s, t0, first[1].Ref, took(100*time.Microsecond), "w")
	ds := s.Assign(t0)
	if len(ds) != 15 { // 2 slots x 8, one held already
		t.Fatalf("after 100us runs: %d runs placed, want 15", len(ds))
	}
	for _, d := range ds {
		if !d.Short {
			t.Fatalf("%v not marked short", d.Ref)
		}
	}
	if est, ok := s.Estimate(mod); !ok || est != 100*time.Microsecond {
		t.Fatalf("estimate %v %v, want 100us", est, ok)
	}
	c := s.Counts()
	if c.Used != 2 || c.Waiting != 14 || c.Slots != 2 {
		t.Fatalf("counts %+v: want 2 used, 14 waiting", c)
	}
	if w := s.Workers()[0]; w.Used != 2 || w.Waiting != 14 || w.Runs != 18 {
		t.Fatalf("worker %+v: want 2 used, 14 waiting", w)
	}
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatalf("the worker is full: %d more placed", len(ds))
	}
}

// Runs that take longer than ShortRun are never held beyond a slot, and a
// worker running a run that is not short takes no short runs into its
// queue, where they would wait behind it.
func TestLongRunsTakeSlotsOnly(t *testing.T) {
	cfg := sched.DefaultConfig()
	cfg.Depth = 8
	s := sched.New(cfg)
	const long = "1111111111111111111111111111111111111111111111111111111111111111"
	s.Offer("w", sched.Offer{Slots: 2})
	many(t, s, "long", long, 10)
	ds := s.Assign(t0)
	finish(s, t0, ds[0].Ref, took(50*time.Millisecond), "w")
	ds = s.Assign(t0)
	if len(ds) != 1 || ds[0].Short {
		t.Fatalf("runs of a 50ms module: %+v, want one more in the freed slot", ds)
	}
	// v learns that mod is short; w still holds two long runs.
	s.Offer("v", sched.Offer{Slots: 1})
	many(t, s, "short", mod, 20)
	ds = s.Assign(t0) // "long" is ahead in the queue: its run takes v's slot
	if len(ds) != 1 || ds[0].Worker != "v" || ds[0].Ref.Task != "long" {
		t.Fatalf("%+v: want a long run on v's slot", ds)
	}
	finish(s, t0, ds[0].Ref, took(50*time.Millisecond), "v")
	s.SetMaxRunning(nil)
	s.Cancel(t0, "long")
	ds = s.Assign(t0)
	if len(ds) != 1 || ds[0].Worker != "v" || ds[0].Short {
		t.Fatalf("%+v: want a first run of mod, not short, on v", ds)
	}
	finish(s, t0, ds[0].Ref, took(time.Microsecond), "v")
	ds = s.Assign(t0)
	if got := perWorker(ds); got["w"] != 0 || got["v"] != 8 {
		t.Fatalf("placement %v: want 8 on v and none on w, which holds two long runs", got)
	}
}

// A short run goes to an idle worker before it waits in a busy one's
// queue, even when the busy one holds the module and the idle one does
// not: warm preference never starves a cold worker.
func TestShortRunsPreferAFreeSlot(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("warm", sched.Offer{Slots: 1, Cached: []string{mod}})
	learnShort(t, s, "warm")
	s.Offer("cold", sched.Offer{Slots: 1})
	many(t, s, "t", mod, 3)
	ds := s.Assign(t0)
	if len(ds) != 3 || ds[0].Worker != "warm" || ds[1].Worker != "cold" {
		t.Fatalf("%+v: want the warm worker's slot, then the cold one's, then queues", ds)
	}
	// Then the least loaded queue: with 16 more, they hold 10 and 9.
	many(t, s, "u", mod, 16)
	s.Assign(t0)
	ws := s.Workers()
	if held := []int{ws[0].Used + ws[0].Waiting, ws[1].Used + ws[1].Waiting}; held[0]+held[1] != 19 || max(held[0], held[1])-min(held[0], held[1]) > 1 {
		t.Fatalf("workers hold %v runs, want 19 shared evenly: %+v", held, ws)
	}
}

// A module's estimate follows its runs: one that turns slow stops being
// short.
func TestEstimateFollowsRuns(t *testing.T) {
	cfg := sched.DefaultConfig()
	s := sched.New(cfg)
	s.Offer("w", sched.Offer{Slots: 1})
	many(t, s, "t", mod, 100)
	var slow int
	for i := 0; i < 20; i++ {
		ds := s.Assign(t0)
		if len(ds) == 0 {
			t.Fatal("nothing placed")
		}
		d := 100 * time.Microsecond
		if i > 0 {
			d = 20 * time.Millisecond
		}
		for _, x := range ds {
			finish(s, t0, x.Ref, took(d), "w")
		}
		if est, _ := s.Estimate(mod); est >= cfg.ShortRun {
			slow = i
			break
		}
	}
	if slow == 0 {
		t.Fatal("the estimate never passed ShortRun")
	}
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Short {
		t.Fatalf("after slow runs: %+v, want one run in the slot, not short", ds)
	}
	// Depth 1 turns batching off.
	cfg.Depth = 1
	s = sched.New(cfg)
	s.Offer("w", sched.Offer{Slots: 1})
	many(t, s, "t", mod, 10)
	ds := s.Assign(t0)
	finish(s, t0, ds[0].Ref, took(time.Microsecond), "w")
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Short {
		t.Fatalf("depth 1: %+v", ds)
	}
}

// A run that needs a slot (here the first run of a new module) is not kept
// from one by a stream of short runs: while it waits, short runs take only
// free slots, so the worker's queue drains and the run starts once it has.
func TestShortRunsDoNotStarveOthers(t *testing.T) {
	cfg := sched.DefaultConfig()
	cfg.Depth = 8
	s := sched.New(cfg)
	s.Offer("w", sched.Offer{Slots: 2})
	learnShort(t, s, "w")
	many(t, s, "stream", mod, 1000)
	held := s.Assign(t0) // 16: 2 slots x 8
	urgent := spec("urgent")
	urgent.Module, urgent.Priority = "3333333333333333333333333333333333333333333333333333333333333333", 100
	mustSubmit(t, s, t0, urgent)
	for i := 0; ; i++ {
		if i == 16 {
			t.Fatalf("the urgent run is not placed after 16 runs ended: short runs keep taking the worker's queue")
		}
		finish(s, t0, held[i].Ref, took(time.Microsecond), "w")
		next := s.Assign(t0)
		for _, d := range next {
			if d.Ref.Task == "urgent" {
				if i < 14 {
					t.Fatalf("placed after %d runs ended, while the worker held %d: want its queue drained to a free slot", i+1, 16-i-1)
				}
				return
			}
		}
		held = append(held, next...)
	}
}
