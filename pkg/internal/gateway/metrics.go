package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Registry returns the gateway's own Prometheus registry: its metrics
// (docs/METRICS.md) and the Go and process collectors. Each gateway has its
// own, so two gateways in one process count apart.
func (g *Gateway) Registry() *prometheus.Registry { return g.metrics.reg }

// metrics are what the gateway counts as it goes; what mirrors the
// scheduler's state is read at scrape time instead (stateCollector).
type metrics struct {
	reg       *prometheus.Registry
	submitted prometheus.Counter
	phases    []prometheus.Observer // of shoal_run_phase_seconds, one per phase
	// cacheHits and cacheMisses count runs by whether their module had to
	// be fetched or compiled, as the worker's timings show.
	cacheHits, cacheMisses prometheus.Counter
	// Bytes moved: modules served to workers, results and log output
	// received from them.
	moduleBytes, resultBytes, logBytes prometheus.Counter
	// Refusals: peers refused the workers channel (no or a wrong join
	// proof), and module fetches of modules not of the fetcher's runs.
	joinsRefused, fetchesRefused prometheus.Counter
	// calls counts calls to workers that carried runs: run (one run) and
	// runs (several short ones); callRuns counts the runs they carried.
	calls    *prometheus.CounterVec
	callRuns *prometheus.CounterVec
	// fuel counts the fuel of the runs the gateway counted, by owner.
	fuel *prometheus.CounterVec
	// purged counts tasks deleted (DELETE ?purge=1, retention) and the
	// bytes of records that went with them.
	purged, purgedBytes prometheus.Counter
	// unsaved counts ended runs whose records could not be saved, queued
	// again (see Gateway.unlockSaved).
	unsaved prometheus.Counter
	adopted prometheus.Counter
	// spawned counts processes spawned by running processes
	// (docs/PROCESSES.md).
	spawned prometheus.Counter
	// Jobs (docs/JOBS.md): steps ended, by status; artifacts' bytes
	// stored; callback attempts, by result.
	jobSteps      *prometheus.CounterVec
	artifactBytes prometheus.Counter
	callbacks     *prometheus.CounterVec
	// scaleDecisions counts the cluster scaler's decisions, by kind.
	scaleDecisions *prometheus.CounterVec
}

// phaseBuckets are 1-2.5-5 steps from 10 µs to 100 s: a run of the C hash
// puzzle takes tens of µs, a cold compile of a Go module about a second.
var phaseBuckets = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10, 25, 50, 100,
}

// phases are the values of shoal_run_phase_seconds' phase label: those of
// task.Timing, then result, from the worker's answer to the run's record
// being durable. metrics.answered observes them in this order.
var phases = []string{"queue", "placement", "fetch", "compile", "instantiate", "run", "total", "result"}

func newMetrics(g *Gateway) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		reg:            prometheus.NewRegistry(),
		submitted:      counter("shoal_tasks_submitted_total", "Tasks taken by the gateway (POST /tasks, batches)."),
		cacheHits:      counter("shoal_module_cache_hits_total", "Runs whose worker held their module compiled: no fetch, no compile."),
		cacheMisses:    counter("shoal_module_cache_misses_total", "Runs whose worker had to fetch or compile their module."),
		moduleBytes:    counter("shoal_module_bytes_served_total", "Module bytes sent to workers that lacked them."),
		resultBytes:    counter("shoal_result_bytes_total", "Result bytes received from workers."),
		logBytes:       counter("shoal_log_bytes_received_total", "Log output bytes received from workers."),
		joinsRefused:   counter("shoal_joins_refused_total", "Peers refused as workers: they presented no join proof, or a wrong one."),
		fetchesRefused: counter("shoal_module_fetches_refused_total", "Module fetches refused: the module is not one of a run the worker holds."),
		purged:         counter("shoal_tasks_purged_total", "Tasks deleted with their runs and logs: DELETE /tasks/{id}?purge=1 and --retain."),
		purgedBytes:    counter("shoal_purged_bytes_total", "Bytes of store records deleted with purged tasks (the file keeps its size: bbolt reuses the pages)."),
		unsaved:        counter("shoal_runs_unsaved_total", "Ended runs whose records could not be saved (a full disk), queued again to run again."),
		adopted:        counter("shoal_runs_adopted_total", "Runs a worker went on with after losing its gateway, adopted by this one (docs/HA.md) rather than run again."),
		spawned:        counter("shoal_processes_spawned_total", "Processes spawned by running processes (docs/PROCESSES.md)."),
	}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_worker_calls_total", Help: "Calls to workers that carried runs, by method: run (one run), runs (several short runs).",
	}, []string{"method"})
	m.callRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_worker_call_runs_total", Help: "Run attempts carried by calls to workers, by method.",
	}, []string{"method"})
	m.fuel = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_fuel_total", Help: "Fuel used by the runs the gateway counted (instructions counted statically per call and loop iteration; docs/RATIONALE.md \"Fuel\"), by owner: the name of the API token the task came with, empty without tokens.",
	}, []string{"owner"})
	m.artifactBytes = counter("shoal_job_artifact_bytes_total", "Bytes of artifacts (files jobs and shared tasks left in /shared) received from workers and stored.")
	m.jobSteps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_job_steps_total", Help: "Steps of jobs that ended, by status: succeeded, failed, canceled, skipped (docs/JOBS.md).",
	}, []string{"status"})
	m.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_job_callbacks_total", Help: "Attempts to POST a job's status to its callback_url, by result: delivered (a 2xx), failed (another answer or none), dropped (never POSTed).",
	}, []string{"result"})
	m.scaleDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shoal_cluster_decisions_total", Help: "Decisions of the cluster's scaler, by kind: start, retry, drain, undrain, release, forget (docs/CLUSTERS.md).",
	}, []string{"kind"})
	for _, k := range []string{"start", "retry", "drain", "undrain", "release", "forget"} {
		m.scaleDecisions.WithLabelValues(k)
	}
	for _, st := range []string{"succeeded", "failed", "canceled", "skipped"} {
		m.jobSteps.WithLabelValues(st)
	}
	for _, r := range []string{"delivered", "failed", "dropped"} {
		m.callbacks.WithLabelValues(r)
	}
	for _, method := range []string{"run", "runs"} {
		m.calls.WithLabelValues(method)
		m.callRuns.WithLabelValues(method)
	}
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "shoal_run_phase_seconds",
		Help:    "Where the time of runs the workers answered went, by phase: queue, placement, fetch, compile, instantiate, run, total (due to outcome), result (answer to durable record).",
		Buckets: phaseBuckets,
	}, []string{"phase"})
	for _, p := range phases { // every phase is shown, even before any run
		m.phases = append(m.phases, hist.WithLabelValues(p))
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.submitted, hist, m.calls, m.callRuns, m.fuel, m.cacheHits, m.cacheMisses, m.moduleBytes, m.resultBytes, m.logBytes, m.joinsRefused, m.fetchesRefused,
		m.purged, m.purgedBytes, m.unsaved, m.adopted, m.spawned, m.jobSteps, m.artifactBytes, m.callbacks, m.scaleDecisions,
		machinesCollector{g},
		stateCollector{g},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_store_file_bytes", Help: "Size of the gateway's database file."},
			func() float64 { return float64(g.st.Stats().FileSize) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_store_full", Help: "1 while the gateway's last write to its database failed for lack of disk space (writes are refused, runs wait), else 0."},
			func() float64 {
				if g.st.Full() != nil {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shoal_store_full_total", Help: "Writes the gateway's database refused for lack of disk space: requests and run records, each once."},
			func() float64 { return float64(g.st.Refused()) }),
	)
	return m
}

// answered records a worker's answer to one run attempt (o), and, when the
// gateway counted it (current: see sched.Scheduler.Finished) and made it
// durable (saved is nil), where the run r's time went. at is when the
// answer arrived. Lost attempts had no answer: nothing to record.
func (m *metrics) answered(o task.Outcome, current bool, r task.Run, owner string, at time.Time, saved error) {
	if o.Lost {
		return
	}
	m.resultBytes.Add(float64(len(o.Result)))
	if !current || saved != nil {
		return
	}
	if r.Fuel > 0 {
		m.fuel.WithLabelValues(owner).Add(float64(r.Fuel))
	}
	tm := r.Timing
	for i, d := range [...]time.Duration{tm.Queue, tm.Placement, tm.Fetch, tm.Compile, tm.Instantiate, tm.Exec, tm.Total, time.Since(at)} {
		m.phases[i].Observe(d.Seconds())
	}
	switch {
	case tm.Fetch > 0 || tm.Compile > 0:
		m.cacheMisses.Inc()
	case tm.Instantiate > 0 || tm.Exec > 0:
		m.cacheHits.Inc()
	} // else the run never got to its module (a directory refused, say)
}

// stateCollector reads the scheduler's state at scrape time, under the
// gateway's lock: gauges of tasks, queues and the pool, and the counters
// of run outcomes the scheduler keeps (sched.Tally).
type stateCollector struct{ g *Gateway }

var (
	descTasks          = prometheus.NewDesc("shoal_tasks", "Tasks by status.", []string{"status"}, nil)
	descRuns           = prometheus.NewDesc("shoal_runs_total", "Run attempts whose outcome the gateway recorded: succeeded and failed (answered by a worker), lost (no answer).", []string{"outcome"}, nil)
	descRetries        = prometheus.NewDesc("shoal_run_retries_total", "Lost run attempts queued again.", nil, nil)
	descRunsPending    = prometheus.NewDesc("shoal_runs_pending", "Runs not yet started: scheduled or queued.", nil, nil)
	descRunsReady      = prometheus.NewDesc("shoal_runs_ready", "Runs due and waiting for a worker (the queue depth), held ones included.", nil, nil)
	descRunsScheduled  = prometheus.NewDesc("shoal_runs_scheduled", "Runs not yet due.", nil, nil)
	descRunsHeld       = prometheus.NewDesc("shoal_runs_held", "Due runs held back because their owner is at its max-running.", nil, nil)
	descWorkers        = prometheus.NewDesc("shoal_workers", "Workers in the pool.", nil, nil)
	descSlots          = prometheus.NewDesc("shoal_slots", "Slots the workers offer.", nil, nil)
	descSlotsUsed      = prometheus.NewDesc("shoal_slots_used", "Slots running a run.", nil, nil)
	descSlotsFree      = prometheus.NewDesc("shoal_slots_free", "Slots free for a run.", nil, nil)
	descRunsWaiting    = prometheus.NewDesc("shoal_runs_waiting_on_workers", "Short runs given to workers beyond their free slots, waiting there for one.", nil, nil)
	stateCollectorDesc = []*prometheus.Desc{descTasks, descRuns, descRetries, descRunsPending, descRunsReady, descRunsScheduled, descRunsHeld, descWorkers, descSlots, descSlotsUsed, descSlotsFree, descRunsWaiting}
)

// taskStatuses are the values of shoal_tasks' status label: all are
// shown, with 0 when no task has them.
var taskStatuses = []task.Status{task.Scheduled, task.Queued, task.Running, task.Succeeded, task.Failed, task.Canceled}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range stateCollectorDesc {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	g.mu.Lock()
	counts, byStatus, tally := g.sched.Counts(), g.sched.TasksByStatus(), g.sched.Tally()
	g.mu.Unlock()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, st := range taskStatuses {
		gauge(descTasks, byStatus[st], string(st))
	}
	for outcome, n := range map[string]uint64{"succeeded": tally.Succeeded, "failed": tally.Failed, "lost": tally.Lost} {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(n), outcome)
	}
	ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(tally.Retried))
	gauge(descRunsPending, counts.Pending)
	gauge(descRunsReady, counts.Queued)
	gauge(descRunsScheduled, counts.Scheduled)
	gauge(descRunsHeld, counts.Held)
	gauge(descWorkers, counts.Workers)
	gauge(descSlots, counts.Slots)
	gauge(descSlotsUsed, counts.Used)
	gauge(descSlotsFree, max(counts.Slots-counts.Used, 0))
	gauge(descRunsWaiting, counts.Waiting)
}

// called counts a call to a worker carrying n runs.
func (m *metrics) called(n int) {
	method := "run"
	if n > 1 {
		method = "runs"
	}
	m.calls.WithLabelValues(method).Inc()
	m.callRuns.WithLabelValues(method).Add(float64(n))
}

// machinesCollector reports the cluster's machines by phase at scrape
// time.
type machinesCollector struct{ g *Gateway }

var machinesDesc = prometheus.NewDesc("shoal_cluster_machines", "Machines the cluster's scaler asked its backend for, by phase: starting, ready, draining, releasing, failed.", []string{"phase"}, nil)

func (c machinesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- machinesDesc }

func (c machinesCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{"starting": 0, "ready": 0, "draining": 0, "releasing": 0, "failed": 0}
	c.g.mu.Lock()
	for _, m := range c.g.scaling.machines {
		counts[string(m.Phase)]++
	}
	c.g.mu.Unlock()
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(machinesDesc, prometheus.GaugeValue, float64(n), phase)
	}
}
