package sched_test

import (
	"fmt"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// A run that reserves cores goes only where they fit: a worker offering
// 1 core holds two half-core runs at once whatever its slots, a worker
// offering none takes none of them, and a finished run gives its cores
// back. Runs that reserve nothing are not counted against cores.
func TestCoresAreReservedAndReturned(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("one-core", sched.Offer{Slots: 8, Cores: 1000})
	s.Offer("no-cores", sched.Offer{Slots: 8})
	for i := range 5 {
		sp := spec(fmt.Sprintf("half-%d", i))
		sp.Cores = 500
		mustSubmit(t, s, t0, sp)
	}
	ds := s.Assign(t0)
	if len(ds) != 2 {
		t.Fatalf("%d half-core runs placed on 1 core, want 2", len(ds))
	}
	for _, d := range ds {
		if d.Worker != "one-core" {
			t.Fatalf("run %v placed on %s, which offers no cores", d.Ref, d.Worker)
		}
	}
	mustSubmit(t, s, t0, spec("free"))
	if more := s.Assign(t0); len(more) != 1 || more[0].Spec.ID != "free" {
		t.Fatalf("a run reserving no cores waited behind the cores: %+v", more)
	}
	if w := workerInfo(t, s, "one-core"); w.UsedCores != 1000 || w.Cores != 1000 {
		t.Fatalf("one-core shows %d/%d millicores used", w.UsedCores, w.Cores)
	}
	finish(s, t0, ds[0].Ref, ok("1"), ds[0].Worker)
	if next := s.Assign(t0); len(next) != 1 || next[0].Worker != "one-core" {
		t.Fatalf("after one run ended: %+v, want one more half-core run", next)
	}
}

func workerInfo(tb testing.TB, s *sched.Scheduler, id sched.WorkerID) sched.WorkerInfo {
	tb.Helper()
	for _, w := range s.Workers() {
		if w.ID == id {
			return w
		}
	}
	tb.Fatalf("no worker %s", id)
	return sched.WorkerInfo{}
}

// A run with a fuel limit goes only to a worker that meters fuel (it
// offers task.FuelLabel), and waits when none does.
func TestFuelLimitNeedsAMeteringWorker(t *testing.T) {
	s := sched.New(sched.DefaultConfig())
	s.Offer("wazero", sched.Offer{Slots: 4})
	limited := spec("limited")
	limited.Fuel = 1000
	mustSubmit(t, s, t0, limited)
	if ds := s.Assign(t0); len(ds) != 0 {
		t.Fatalf("a fuel-limited run went to a worker that counts no fuel: %+v", ds)
	}
	s.Offer("metering", sched.Offer{Slots: 4, Labels: []string{task.FuelLabel}})
	if ds := s.Assign(t0); len(ds) != 1 || ds[0].Worker != "metering" {
		t.Fatalf("dispatches %+v, want the run on the metering worker", ds)
	}
}
