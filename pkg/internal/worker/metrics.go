package worker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry returns the worker's own Prometheus registry: its metrics
// (docs/METRICS.md) and the Go and process collectors. Each worker has its
// own, so two workers in one process count apart.
func (w *Worker) Registry() *prometheus.Registry { return w.metrics.reg }

// metrics are what a worker counts of the runs it executes and of its
// connection to the gateway.
type metrics struct {
	reg                *prometheus.Registry
	succeeded, failed  prometheus.Counter
	phases             []prometheus.Observer // fetch, compile, instantiate, run
	hits, misses       prometheus.Counter
	reoffers, connects prometheus.Counter
}

// phaseBuckets are those of the gateway's shoal_run_phase_seconds: 1-2.5-5
// steps from 10 µs to 100 s.
var phaseBuckets = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10, 25, 50, 100,
}

// newMetrics makes w's metrics; the gauges read w at scrape time.
func newMetrics(w *Worker) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string, f func() float64) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_worker_runs_total",
		Help: "Runs this worker executed and answered, by outcome: succeeded or failed.",
	}, []string{"outcome"})
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shoal_worker_run_phase_seconds",
		Help:    "Where the time of this worker's runs went, by phase: fetch, compile, instantiate, run.",
		Buckets: phaseBuckets,
	}, []string{"phase"})
	m := &metrics{
		reg:       prometheus.NewRegistry(),
		succeeded: runs.WithLabelValues("succeeded"),
		failed:    runs.WithLabelValues("failed"),
		hits:      counter("shoal_worker_module_cache_hits_total", "Runs whose module this worker held compiled."),
		misses:    counter("shoal_worker_module_cache_misses_total", "Runs whose module this worker had to fetch and compile."),
		reoffers:  counter("shoal_worker_reoffers_total", "Offers sent again on a connection when the modules held compiled changed, so the gateway's placement knows."),
		connects:  counter("shoal_worker_connects_total", "Connections to the gateway whose offer was taken."),
	}
	for _, p := range []string{"fetch", "compile", "instantiate", "run"} {
		m.phases = append(m.phases, hist.WithLabelValues(p))
	}
	fetched := counter("shoal_worker_module_bytes_fetched_total", "Module bytes fetched from the gateway.")
	w.fetch.fetched = fetched
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		runs, hist, m.hits, m.misses, m.reoffers, m.connects, fetched,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shoal_worker_messages_direct_total",
			Help: "Messages between processes this worker sent straight to another worker (docs/PROCESSES.md)."},
			func() float64 { return float64(w.gateway.direct.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shoal_worker_messages_relayed_total",
			Help: "Messages between processes this worker sent through the gateway: the first to a process, and those to a worker it cannot reach."},
			func() float64 { return float64(w.gateway.relayed.Load()) }),
		gauge("shoal_worker_modules_compiled", "Compiled modules held in memory.", func() float64 { return float64(len(w.runner.Cached())) }),
		gauge("shoal_worker_slots", "Runs this worker executes at once.", func() float64 { return float64(w.cfg.Slots) }),
		gauge("shoal_worker_slots_busy", "Slots executing a run.", func() float64 { return float64(w.active.Load()) }),
		gauge("shoal_worker_runs_held", "Runs this worker went on with after losing its gateway, not yet handed to the next (docs/HA.md).", func() float64 { return float64(w.held.count()) }),
		gauge("shoal_worker_connected", "1 while the worker is connected to its gateway with its offer taken (draining included), else 0.", func() float64 {
			if w.connected() {
				return 1
			}
			return 0
		}),
	)
	return m
}

// ran records one run the worker executed and answered.
func (m *metrics) ran(out outcome) {
	if out.OK {
		m.succeeded.Inc()
	} else {
		m.failed.Inc()
	}
	for i, d := range [...]float64{out.fetch.Seconds(), out.compile.Seconds(), out.Instantiate.Seconds(), out.Run.Seconds()} {
		m.phases[i].Observe(d)
	}
	switch out.module {
	case moduleHeld:
		m.hits.Inc()
	case moduleFetched:
		m.misses.Inc()
	}
}

// moduleState is how a run found its module, for the cache metrics.
type moduleState int

const (
	moduleUnknown moduleState = iota // the run never got to its module
	moduleHeld                       // compiled already: a cache hit
	moduleFetched                    // fetched and compiled: a miss
)
