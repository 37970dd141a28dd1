package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/backend"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/scale"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// ScaleConfig makes a gateway scale its cluster: it asks Backend for
// machines when work waits and gives them back when they are idle, as
// package scale decides (docs/CLUSTERS.md). A nil Backend: no scaling.
type ScaleConfig struct {
	Backend backend.Backend
	Policy  scale.Policy
	// Machine is what each machine's worker offers (Slots, Memory) and
	// the labels it carries; the gateway fills in the rest.
	Machine backend.WorkerSpec
	// Dial is the multiaddr (with /p2p/ID) machines' workers dial; "":
	// the gateway's first TCP address.
	Dial string
	// Tick is how often the scaler looks; 0: 250 ms.
	Tick time.Duration
	// Warm names the modules (by name or sha256:HEX) a machine's worker
	// compiles as soon as it joins: the cluster's application.
	Warm []string
}

// scaler is the state of a scaling cluster: the machines the gateway
// asked its backend for, under g.mu.
type scaler struct {
	machines map[string]*machine
	order    []string // the machines in the order they were asked for
	next     int      // the number of the next machine's id
	lastDown time.Time
	// decisions are the latest ones, oldest first (maxDecisions).
	decisions []api.ScaleDecision
	// wake makes the scaler look now: work waits that no worker has room
	// for (a burst need not wait for the next tick).
	wake chan struct{}
	// task's policy is in force while it runs (SetPolicy); own is the
	// cluster's, which comes back when it ends.
	task string
	own  scale.Policy
	// rewarm: a module ScaleConfig.Warm names was (re)named (a deploy):
	// the machines that joined compile it now, not at their first run.
	rewarm bool
}

// machine is one machine of the cluster.
type machine struct {
	scale.Machine
	worker sched.WorkerID // once its worker joined
}

// maxDecisions bounds the decisions GET /cluster shows.
const maxDecisions = 200

// runScaler decides and acts every tick until ctx ends.
func (g *Gateway) runScaler(ctx context.Context) {
	defer g.tasks.Done()
	tick := g.cfg.Scale.Tick
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	g.stopLeftovers(ctx)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		g.scaleOnce(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.scaling.wake:
		}
	}
}

// scaleOnce brings the machines' state up to date with the pool's, asks
// scale.Decide what to do, and does it: the backend's calls in goroutines
// of their own, so that no start or stop holds another decision.
func (g *Gateway) scaleOnce(ctx context.Context, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sc := &g.scaling
	g.endTaskPolicyLocked(now)
	free, queued := g.observeLocked(ctx, now)
	if sc.rewarm {
		sc.rewarm = false
		for _, id := range sc.order {
			if m := sc.machines[id]; m.worker != "" && m.Phase == scale.Ready {
				g.warmLocked(ctx, id, m.worker)
			}
		}
	}
	// What waits: in the gateway's queue, and short runs queued on
	// workers beyond their slots (sent several to a call).
	state := scale.State{Now: now, Waiting: g.sched.Demand() + queued, FreeSlots: free, LastDown: sc.lastDown}
	for _, id := range sc.order {
		state.Machines = append(state.Machines, sc.machines[id].Machine)
	}
	for _, d := range scale.Decide(g.cfg.Scale.Policy, state) {
		g.applyLocked(ctx, now, d)
	}
}

// observeLocked updates each machine from the worker that carries its
// label, and returns the free slots of the workers that take runs, and
// the short runs waiting on workers for a slot.
func (g *Gateway) observeLocked(ctx context.Context, now time.Time) (free, queued int) {
	sc := &g.scaling
	byMachine := map[string]sched.WorkerInfo{}
	for _, w := range g.sched.Workers() {
		if !w.Draining {
			free += max(w.Slots-w.Used, 0)
		}
		queued += w.Waiting
		for _, l := range w.Labels {
			if id, ok := cutLabel(l); ok {
				byMachine[id] = w
			}
		}
	}
	for _, id := range slices.Clone(sc.order) {
		m := sc.machines[id]
		w, joined := byMachine[id]
		switch {
		case joined && m.Phase == scale.Starting:
			m.Phase, m.Since, m.worker = scale.Ready, now, w.ID
			g.scaleLogLocked(now, "ready", id, fmt.Sprintf("worker %s ready in %.1f s", api.ShortPeer(string(w.ID)), now.Sub(m.Started).Seconds()))
			g.warmLocked(ctx, id, w.ID)
		case !joined && (m.Phase == scale.Ready || m.Phase == scale.Draining):
			// Its worker left without being released: the machine is
			// gone; what it ran is retried, and Decide asks for another
			// if one is needed.
			g.dropMachineLocked(id)
			g.scaleLogLocked(now, "lost", id, "its worker left the pool")
			continue
		}
		if joined {
			m.Busy = w.Used > 0 || w.Waiting > 0
			switch {
			case m.Busy:
				m.Idle = time.Time{}
			case m.Idle.IsZero():
				m.Idle = now
			}
		}
	}
	return free, queued
}

func cutLabel(l string) (string, bool) { return strings.CutPrefix(l, backend.MachineLabelPrefix) }

// applyLocked carries out decision d.
func (g *Gateway) applyLocked(ctx context.Context, now time.Time, d scale.Decision) {
	sc := &g.scaling
	id := d.Machine
	switch d.Kind {
	case scale.Start:
		sc.next++
		id = fmt.Sprintf("m%d", sc.next)
		sc.machines[id] = &machine{Machine: scale.Machine{ID: id, Phase: scale.Starting, Since: now, Started: now}}
		sc.order = append(sc.order, id)
		g.startMachineLocked(ctx, id)
	case scale.Retry:
		m := sc.machines[id]
		m.Phase, m.Since = scale.Starting, now
		g.startMachineLocked(ctx, id)
	case scale.Drain:
		m := sc.machines[id]
		g.sched.SetDraining(m.worker, true)
		m.Phase, m.Since = scale.Draining, now
		sc.lastDown = now
	case scale.Undrain:
		m := sc.machines[id]
		g.sched.SetDraining(m.worker, false)
		m.Phase, m.Since = scale.Ready, now
		g.kick()
	case scale.Release:
		sc.machines[id].Phase = scale.Releasing
		g.stopMachineLocked(ctx, id)
	case scale.Forget:
		g.dropMachineLocked(id)
		g.stopMachineLocked(ctx, id) // whatever of it the backend holds
	}
	g.scaleLogLocked(now, string(d.Kind), id, d.Reason)
	g.metrics.scaleDecisions.WithLabelValues(string(d.Kind)).Inc()
}

// startMachineLocked asks the backend for machine id, in a goroutine; a
// failure marks it failed, for Decide to try again.
func (g *Gateway) startMachineLocked(ctx context.Context, id string) {
	sc := &g.scaling
	sc.machines[id].Attempts++
	spec := g.workerSpecLocked(id)
	g.tasks.Add(1)
	go func() {
		defer g.tasks.Done()
		err := g.cfg.Scale.Backend.Start(ctx, id, spec)
		if err == nil {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		g.machineFailedLocked(id, "start: "+err.Error())
	}()
}

// machineFailedLocked records that machine id did not come up: Decide
// tries again, or gives up on it.
func (g *Gateway) machineFailedLocked(id, why string) {
	m := g.scaling.machines[id]
	if m == nil || m.Phase != scale.Starting {
		return
	}
	now := time.Now()
	m.Phase, m.Since = scale.Failed, now
	g.scaleLogLocked(now, "failed", id, why)
}

// stopMachineLocked tells the backend to stop machine id, in a goroutine,
// and forgets it once it is gone.
func (g *Gateway) stopMachineLocked(ctx context.Context, id string) {
	g.tasks.Add(1)
	go func() {
		defer g.tasks.Done()
		err := g.cfg.Scale.Backend.Stop(ctx, id)
		g.mu.Lock()
		defer g.mu.Unlock()
		now := time.Now()
		if err != nil {
			g.scaleLogLocked(now, "failed", id, "stop: "+err.Error())
		} else if _, ok := g.scaling.machines[id]; ok {
			g.scaleLogLocked(now, "released", id, "stopped")
		}
		g.dropMachineLocked(id)
	}()
}

// MachineExited is the backend's word that machine id stopped by itself
// (the backend's Exited function).
func (g *Gateway) MachineExited(id string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.scaling.machines[id]
	if m == nil {
		return
	}
	why := "it stopped"
	if err != nil {
		why = "it stopped: " + err.Error()
	}
	if m.Phase == scale.Starting {
		g.machineFailedLocked(id, why)
		return
	}
	if m.Phase != scale.Releasing {
		g.dropMachineLocked(id)
		g.scaleLogLocked(time.Now(), "lost", id, why)
	}
}

func (g *Gateway) dropMachineLocked(id string) {
	sc := &g.scaling
	delete(sc.machines, id)
	sc.order = slices.DeleteFunc(sc.order, func(o string) bool { return o == id })
}

// workerSpecLocked is how machine id's worker joins this gateway.
func (g *Gateway) workerSpecLocked(id string) backend.WorkerSpec {
	spec := g.cfg.Scale.Machine
	spec.Labels = append(slices.Clone(spec.Labels), backend.MachineLabel(id))
	spec.Gateway = g.cfg.Scale.Dial
	if spec.Gateway == "" {
		for _, a := range addrStrings(g.host.Addrs(), g.host.ID()) {
			if spec.Gateway == "" || containsTCP(a) && !containsTCP(spec.Gateway) {
				spec.Gateway = a
			}
		}
	}
	if g.cfg.JoinSecret != nil {
		spec.JoinToken = join.Token{Gateway: g.host.ID(), Secret: g.cfg.JoinSecret}.String()
	}
	return spec
}

func containsTCP(a string) bool { return strings.Contains(a, "/tcp/") }

// scaleLogLocked records an event of the scaler, for GET /cluster and
// the gateway's log.
func (g *Gateway) scaleLogLocked(now time.Time, kind, id, reason string) {
	sc := &g.scaling
	sc.decisions = append(sc.decisions, api.ScaleDecision{Time: now, Kind: kind, Machine: id, Reason: reason})
	if len(sc.decisions) > maxDecisions {
		sc.decisions = sc.decisions[len(sc.decisions)-maxDecisions:]
	}
	g.log.Info("cluster: "+kind, "machine", id, "why", reason)
}

// Cluster is the cluster's state as GET /cluster shows it: its policy,
// its machines and the latest decisions with their reasons.
func (g *Gateway) Cluster() api.Cluster {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.endTaskPolicyLocked(time.Now()) // not shown in force once its task ended
	p := g.cfg.Scale.Policy
	c := api.Cluster{
		StandbyMachines: p.Standby, MachinesLimit: p.Limit,
		MachinesTimeout: p.Timeout.Seconds(), Cooldown: p.Cooldown.Seconds(), Task: g.scaling.task,
		Machines: []api.Machine{}, Decisions: append([]api.ScaleDecision{}, g.scaling.decisions...),
	}
	if b := g.cfg.Scale.Backend; b != nil {
		c.Backend = b.Name()
	}
	for _, id := range g.scaling.order {
		m := g.scaling.machines[id]
		c.Machines = append(c.Machines, api.Machine{
			ID: id, Phase: string(m.Phase), Worker: string(m.worker), Started: m.Started, Since: m.Since,
			Attempts: m.Attempts, Busy: m.Busy, Idle: m.Idle,
		})
	}
	return c
}

// ErrMachinesBusy is CleanUp's error while runs are under way on the
// cluster's machines.
var ErrMachinesBusy = errors.New("runs are under way on the cluster's machines")

// CleanUp gives back every machine of the cluster now, whatever its
// standby count and timeout, so that it starts afresh (shoal cluster
// clean-up): the standby machines come back, new, at the scaler's next
// look. It refuses while a machine runs something (stop the application
// first), and returns the machines it released. The stops outlive ctx:
// an HTTP request's ends as soon as the answer is out, and would kill a
// docker stop midway, the machine forgotten while its container runs.
func (g *Gateway) CleanUp(ctx context.Context) ([]string, error) {
	ctx = context.WithoutCancel(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.Scale.Backend == nil {
		return nil, api.Errorf(api.CodeConflict, "this gateway does not scale a cluster (shoal gateway --backend)")
	}
	var busy []string
	for _, id := range g.scaling.order {
		if m := g.scaling.machines[id]; m.Busy {
			busy = append(busy, id)
		}
	}
	if len(busy) > 0 {
		return nil, fmt.Errorf("%w: %s; stop the application first (shoal cluster stop)", ErrMachinesBusy, strings.Join(busy, ", "))
	}
	now := time.Now()
	var released []string
	for _, id := range slices.Clone(g.scaling.order) {
		m := g.scaling.machines[id]
		if m.Phase == scale.Releasing {
			continue
		}
		if m.worker != "" {
			g.sched.SetDraining(m.worker, true)
		}
		m.Phase, m.Since = scale.Releasing, now
		g.stopMachineLocked(ctx, id)
		g.scaleLogLocked(now, "release", id, "clean-up")
		released = append(released, id)
	}
	return released, nil
}

// stopLeftovers stops the machines the backend still runs from an earlier
// life of the gateway: their runs were lost with it, and the cluster
// starts afresh (its standby machines come back new).
func (g *Gateway) stopLeftovers(ctx context.Context) {
	b := g.cfg.Scale.Backend
	ids, err := b.List(ctx)
	if err != nil {
		g.log.Warn("cluster: the backend's machines not listed", "err", err)
		return
	}
	for _, id := range ids {
		if err := b.Stop(ctx, id); err != nil {
			g.log.Warn("cluster: a machine of an earlier life not stopped", "machine", id, "err", err)
			continue
		}
		g.mu.Lock()
		g.scaleLogLocked(time.Now(), "released", id, "a machine of the gateway's earlier life")
		g.mu.Unlock()
	}
}

// SetPolicy changes how the cluster scales from now on: the fields of p
// that are set, checked together with the rest. With p.Task, the change
// lasts while that task runs (it must not have ended), over the cluster's
// own policy; without, it changes the cluster's own, and ends any task's.
// It returns the cluster after the change.
func (g *Gateway) SetPolicy(p api.ClusterPolicy) (api.Cluster, error) {
	g.mu.Lock()
	if g.cfg.Scale.Backend == nil {
		g.mu.Unlock()
		return api.Cluster{}, api.Errorf(api.CodeConflict, "this gateway does not scale a cluster (shoal gateway --backend)")
	}
	base := g.cfg.Scale.Policy
	if p.Task != "" {
		st, ok := g.sched.Status(p.Task)
		if !ok {
			g.mu.Unlock()
			return api.Cluster{}, &api.Error{Code: api.CodeNotFound, Field: "task", Message: fmt.Sprintf("task: no task %q", p.Task)}
		}
		if st.Done() {
			g.mu.Unlock()
			return api.Cluster{}, &api.Error{Code: api.CodeConflict, Field: "task", Message: fmt.Sprintf("task: task %s has ended (%s): its policy would never be in force", p.Task, st)}
		}
	}
	if g.scaling.task != "" { // over the cluster's own, never a task's
		base = g.scaling.own
	}
	np := base
	if p.StandbyMachines != nil {
		np.Standby = *p.StandbyMachines
	}
	if p.MachinesLimit != nil {
		np.Limit = *p.MachinesLimit
	}
	if p.MachinesTimeout != nil {
		np.Timeout = time.Duration(*p.MachinesTimeout)
	}
	if p.Cooldown != nil {
		np.Cooldown = time.Duration(*p.Cooldown)
	}
	if err := np.Validate(); err != nil {
		g.mu.Unlock()
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return api.Cluster{}, api.Invalid(field, "%s", msg)
	}
	why := "the cluster's own policy"
	if p.Task != "" {
		g.scaling.own = base
		why = "while task " + p.Task + " runs"
	}
	g.setPolicyLocked(time.Now(), np, p.Task, why)
	g.mu.Unlock()
	return g.Cluster(), nil
}

// endTaskPolicyLocked puts the cluster's own policy back in force once
// the task whose policy is in force has ended.
func (g *Gateway) endTaskPolicyLocked(now time.Time) {
	sc := &g.scaling
	if sc.task == "" {
		return
	}
	if st, ok := g.sched.Status(sc.task); !ok || st.Done() {
		g.setPolicyLocked(now, sc.own, "", fmt.Sprintf("task %s ended: the cluster's own policy", sc.task))
	}
}

// setPolicyLocked puts policy p in force, task's ("": the cluster's own),
// and logs it with why.
func (g *Gateway) setPolicyLocked(now time.Time, p scale.Policy, task, why string) {
	g.cfg.Scale.Policy, g.scaling.task = p, task
	g.scaleLogLocked(now, "policy", "", fmt.Sprintf("standby_machines %d, machines_limit %d, machines_timeout %v, cooldown %v: %s", p.Standby, p.Limit, p.Timeout, p.Cooldown, why))
}

// scaleIfWaitingLocked wakes the scaler when runs wait that no worker has
// room for; g.mu is held (the dispatch loop calls it after placing).
func (g *Gateway) scaleIfWaitingLocked() {
	if g.cfg.Scale.Backend == nil || g.sched.Demand() == 0 {
		return
	}
	select {
	case g.scaling.wake <- struct{}{}:
	default:
	}
}
