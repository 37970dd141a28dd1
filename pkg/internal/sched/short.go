package sched

import "time"

// Short runs. A run spends a fraction of a millisecond in the module and
// about as much again in the call that carries it to a worker and its
// result back. For such runs the scheduler lets a worker hold more runs
// than it has slots (Config.Depth per slot) so that the gateway can send
// them several to a call (Dispatch.Short, Worker.runs) and the worker
// never idles between calls. Whether a run is short is judged from its
// module's recent runs; a module never run is not short, so a long run is
// never held behind others by mistake more than once per module.

// estimates keeps, per module, a moving average of how long a run takes
// on its worker once started (instantiate and run; not fetch or compile,
// which happen once per worker).
type estimates struct {
	avg map[string]time.Duration
}

// maxEstimates bounds the modules remembered; past it they are forgotten
// all at once (and relearned from their next runs).
const maxEstimates = 10_000

func (e *estimates) add(module string, d time.Duration) {
	if e.avg == nil || len(e.avg) >= maxEstimates {
		e.avg = make(map[string]time.Duration)
	}
	old, ok := e.avg[module]
	if !ok {
		e.avg[module] = d
		return
	}
	e.avg[module] = old + (d-old)/4
}

// short reports whether runs of module took less than limit on average.
func (e *estimates) short(module string, limit time.Duration) bool {
	d, ok := e.avg[module]
	return ok && d < limit
}

// Estimate is the average time a run of module took on its worker, and
// whether the scheduler has seen one.
func (s *Scheduler) Estimate(module string) (time.Duration, bool) {
	d, ok := s.estimates.avg[module]
	return d, ok
}

func (s *Scheduler) isShort(module string) bool {
	return s.cfg.Depth > 1 && s.estimates.short(module, s.cfg.ShortRun)
}
