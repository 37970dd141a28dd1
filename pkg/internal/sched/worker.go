package sched

import (
	"slices"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// WorkerID names a worker; the gateway uses the worker's peer ID.
type WorkerID string

// Offer is what a worker puts at the gateway's disposal.
type Offer struct {
	Slots  int
	Memory uint64 // bytes for all its runs together; 0 = not accounted
	// Cores is the CPU its runs may reserve together; runs that reserve
	// none are not counted, and it takes no run that reserves some when 0.
	Cores  api.Millicores
	Labels []string
	Cached []string // sha256 hex of modules it holds compiled
}

// WorkerInfo describes a worker for listings.
type WorkerInfo struct {
	ID    WorkerID
	Slots int
	Used  int
	// Waiting: short runs given to it beyond its slots (see short.go).
	Waiting   int
	Memory    uint64
	UsedMem   uint64
	Cores     api.Millicores
	UsedCores api.Millicores
	Labels    []string
	Cached    []string
	Runs      int64
	Draining  bool // it takes no new runs (SetDraining)
}

type worker struct {
	id      WorkerID
	offer   Offer
	used    int // runs it holds: at most its slots, or Depth per slot if all are short
	long    int // runs it holds that are not short
	usedMem uint64
	usedCPU api.Millicores
	labels  map[string]bool
	cached  map[string]bool
	// last is the assignment counter when this worker last got work; lower
	// means idle for longer, which breaks ties between equal workers.
	last    uint64
	runs    int64
	running map[RunRef]slot // the runs holding its slots
	// draining: the worker takes no new runs (a cluster's scaler is about
	// to release it); those it holds finish.
	draining bool
}

// slot is what a running run holds on its worker until its outcome comes:
// memory, and a place in its owner's count of runs executing at once.
type slot struct {
	memory uint64
	cores  api.Millicores
	owner  string
	short  bool
	proc   bool // a process: it holds no slot
}

func newWorker(id WorkerID, o Offer) *worker {
	w := &worker{id: id, running: make(map[RunRef]slot)}
	w.update(o)
	return w
}

func (w *worker) update(o Offer) {
	w.offer = o
	w.labels = set(o.Labels)
	w.cached = set(o.Cached)
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (w *worker) free() int { return w.offer.Slots - w.used }

// room is how many more runs the worker can take now: its free slots, or
// for a short run, while it holds only short runs, up to depth per slot.
func (w *worker) room(short bool, depth int) int {
	if w.draining {
		return 0
	}
	if short && w.long == 0 && depth > 1 {
		return w.offer.Slots*depth - w.used
	}
	return w.free()
}

// fits reports whether the worker can take a run of spec now: room for
// it, its memory and its cores within what the worker offers, and every
// label it needs.
func (w *worker) fits(spec *task.Spec, short bool, depth int) bool {
	return w.room(short, depth) > 0 && w.holds(spec, w.usedMem, w.usedCPU)
}

// holds reports whether spec's memory and cores fit in what the worker
// offers beside usedMem and usedCPU, and the worker has every label spec
// needs.
func (w *worker) holds(spec *task.Spec, usedMem uint64, usedCPU api.Millicores) bool {
	if spec.Memory > 0 && w.offer.Memory > 0 && usedMem+spec.Memory > w.offer.Memory {
		return false
	}
	if spec.Cores > 0 && usedCPU+spec.Cores > w.offer.Cores {
		return false
	}
	if spec.Fuel > 0 && !w.labels[task.FuelLabel] {
		return false
	}
	for _, l := range spec.Labels {
		if !w.labels[l] {
			return false
		}
	}
	return true
}

// roomier reports whether w is a better home than o for a process of
// module: more cores free, then more memory free, then warm, then idle
// for longer.
func (w *worker) roomier(o *worker, module string) bool {
	wc, oc := int64(w.offer.Cores)-int64(w.usedCPU), int64(o.offer.Cores)-int64(o.usedCPU)
	if wc != oc {
		return wc > oc
	}
	wm, om := int64(w.offer.Memory-w.usedMem), int64(o.offer.Memory-o.usedMem)
	if wm != om {
		return wm > om
	}
	if w.cached[module] != o.cached[module] {
		return w.cached[module]
	}
	return w.last < o.last
}

// better reports whether w is a better home than o for a run of module.
// One with a free slot comes first: a short run never waits in a busy
// worker's queue while another worker idles. Among workers with free
// slots, one that holds the module compiled (no fetch, no compile), then
// the one with more free; among workers whose slots are all taken (short
// runs, see short.go), the less loaded, then the warm one. Last, the one
// idle for longer. A warm worker is preferred only while it has room:
// the cold ones take the rest and warm up.
func (w *worker) better(o *worker, module string) bool {
	wf, of := w.free(), o.free()
	if (wf > 0) != (of > 0) {
		return wf > 0
	}
	wc, oc := w.cached[module], o.cached[module]
	if wf > 0 {
		if wc != oc {
			return wc
		}
		if wf != of {
			return wf > of
		}
	} else {
		// Load: held runs per slot, compared without division.
		if wl, ol := w.used*o.offer.Slots, o.used*w.offer.Slots; wl != ol {
			return wl < ol
		}
		if wc != oc {
			return wc
		}
	}
	return w.last < o.last
}

func (w *worker) info() WorkerInfo {
	return WorkerInfo{
		ID: w.id, Slots: w.offer.Slots, Used: min(w.used, w.offer.Slots), Waiting: max(0, w.used-w.offer.Slots),
		Memory: w.offer.Memory, UsedMem: w.usedMem, Cores: w.offer.Cores, UsedCores: w.usedCPU,
		Labels:   slices.Clone(w.offer.Labels),
		Cached:   slices.Clone(w.offer.Cached),
		Runs:     w.runs,
		Draining: w.draining,
	}
}
