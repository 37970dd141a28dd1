// Package scale decides when a cluster asks its backend for workers and
// when it gives them back (docs/CLUSTERS.md). Decide is a pure function of
// the cluster's state and the time: the gateway feeds it what it sees
// (the work waiting, its workers, the machines it asked for) and carries
// out what it returns, so every decision is tested without sleeps.
//
// The rules, from what the systems before us got wrong:
//   - scale up at once when queued work needs more than the free capacity,
//     counting machines already on their way, up to Policy.Limit;
//   - never release a busy worker: an idle one past Policy.Timeout is
//     drained first (it takes no new runs), and released once nothing runs
//     on it; a drain is a state, not a wait, so it never holds other
//     decisions back (the Nomad Autoscaler stalled all scaling behind one);
//   - keep Policy.Standby workers, warm, whatever the load;
//   - after a scale-down (every idle machine above the standby count
//     drained at once), wait Policy.Cooldown before the next one, and never
//     drain a machine younger than it (against launch/kill loops);
//   - a machine that fails to start is retried with backoff, up to
//     MaxAttempts, and reported.
package scale

import (
	"fmt"
	"time"
)

// Policy is a cluster's scaling configuration: the [cluster] table of its
// config (standby_machines, machines_limit, machines_timeout, cooldown).
type Policy struct {
	Standby int           // workers kept, idle or not
	Limit   int           // the most machines at once; 0: no scaling up
	Timeout time.Duration // idle this long, a worker past Standby is drained
	// Cooldown is the least time between two scale-downs, and the least
	// age of a machine that is drained.
	Cooldown time.Duration
	// Slots is what one machine offers: how much of the queue a new one
	// takes.
	Slots int
}

// DefaultPolicy is a cluster's policy unless its config says otherwise:
// Ray's idle timeout (5 minutes), no standby, no machines.
func DefaultPolicy() Policy {
	return Policy{Timeout: 5 * time.Minute, Cooldown: 30 * time.Second, Slots: 1}
}

// Validate names the first bad field, as the config file names it.
func (p Policy) Validate() error {
	switch {
	case p.Standby < 0:
		return fmt.Errorf("standby_machines: must not be negative")
	case p.Limit < 0:
		return fmt.Errorf("machines_limit: must not be negative")
	case p.Standby > p.Limit:
		return fmt.Errorf("standby_machines: %d is more than machines_limit (%d)", p.Standby, p.Limit)
	case p.Timeout < 0:
		return fmt.Errorf("machines_timeout: must not be negative")
	case p.Cooldown < 0:
		return fmt.Errorf("cooldown: must not be negative")
	case p.Slots < 1:
		return fmt.Errorf("slots: a machine offers at least 1")
	}
	return nil
}

// Phase is where a machine the cluster asked for stands.
type Phase string

// The phases of a machine: Starting until its worker joins, then Ready;
// Draining once chosen to go (it takes no new runs), Releasing once it is
// idle and its backend is told to stop it; Failed when it did not start
// (it is tried again, up to MaxAttempts).
const (
	Starting  Phase = "starting"
	Ready     Phase = "ready"
	Draining  Phase = "draining"
	Releasing Phase = "releasing"
	Failed    Phase = "failed"
)

// Machine is one machine the cluster asked its backend for.
type Machine struct {
	ID      string
	Phase   Phase
	Since   time.Time // of its phase
	Started time.Time // asked for
	// Attempts counts the backend's tries to start it.
	Attempts int
	// Busy: runs are under way on its worker; Idle is since when none has
	// been (zero while Busy).
	Busy bool
	Idle time.Time
}

// State is what Decide sees.
type State struct {
	Now time.Time
	// Waiting is the runs due that no worker has room for now (and that a
	// new machine could take).
	Waiting int
	// FreeSlots are the free slots of the ready workers that are not
	// draining.
	FreeSlots int
	Machines  []Machine
	// LastDown is when the last scale-down (a drain) was decided.
	LastDown time.Time
}

// Kind is what a decision does.
type Kind string

// The decisions.
const (
	Start   Kind = "start"   // ask the backend for a new machine
	Retry   Kind = "retry"   // ask again for a machine that failed to start
	Drain   Kind = "drain"   // stop giving a ready machine's worker runs
	Release Kind = "release" // tell the backend to stop a drained, idle machine
	Undrain Kind = "undrain" // give a draining machine runs again: work came
	Forget  Kind = "forget"  // give up on a machine that never started
)

// Decision is one thing to do, and why.
type Decision struct {
	Kind    Kind
	Machine string // "" for Start: the caller names the new machine
	Reason  string
}

// MaxAttempts bounds the tries to start one machine.
const MaxAttempts = 3

// JoinTimeout is how long a machine may take from its start to its
// worker joining; past it the machine is given up (stopped) and, if still
// needed, replaced: a worker that cannot reach its gateway must not hold
// a place under the limit forever.
const JoinTimeout = 2 * time.Minute

// RetryAfter is the wait before the next try to start a machine that
// failed its attempt-th: 1 s, 2 s, 4 s.
func RetryAfter(attempt int) time.Duration { return time.Second << min(max(attempt-1, 0), 5) }

// Decide returns what to do now.
func Decide(p Policy, s State) []Decision {
	var out []Decision
	counted := 0 // machines that are or will be workers taking runs
	coming := 0  // slots on their way: machines starting
	for _, m := range s.Machines {
		switch m.Phase {
		case Starting:
			if !s.Now.Before(m.Since.Add(JoinTimeout)) {
				out = append(out, Decision{Forget, m.ID, fmt.Sprintf("its worker did not join within %v", JoinTimeout)})
				continue
			}
			counted++
			coming += p.Slots
		case Ready:
			counted++
		case Failed:
			counted++
			switch {
			case m.Attempts >= MaxAttempts:
				out = append(out, Decision{Forget, m.ID, fmt.Sprintf("failed to start %d times", m.Attempts)})
				counted--
			case !s.Now.Before(m.Since.Add(RetryAfter(m.Attempts))):
				out = append(out, Decision{Retry, m.ID, fmt.Sprintf("failed to start (attempt %d of %d); trying again", m.Attempts, MaxAttempts)})
				coming += p.Slots
			}
		}
	}
	need := s.Waiting - s.FreeSlots - coming
	// Work waits: a draining machine takes runs again before a new one is
	// asked for (it is there, warm).
	for _, m := range s.Machines {
		if need <= 0 {
			break
		}
		if m.Phase == Draining {
			out = append(out, Decision{Undrain, m.ID, fmt.Sprintf("%d runs wait", s.Waiting)})
			need -= p.Slots
			counted++
		}
	}
	// Up: for the work that waits, then for the standby count.
	for need > 0 && counted < p.Limit {
		out = append(out, Decision{Start, "", fmt.Sprintf("%d runs wait; %d slots free or on their way", s.Waiting, s.FreeSlots+coming)})
		need -= p.Slots
		coming += p.Slots
		counted++
	}
	for counted < p.Standby && counted < p.Limit {
		out = append(out, Decision{Start, "", fmt.Sprintf("keeping %d standby machines", p.Standby)})
		counted++
	}
	// Down: idle past the timeout, above the standby count, one cooldown
	// after the last scale-down; each drained machine is released once
	// nothing runs on it.
	ready := 0
	for _, m := range s.Machines {
		if m.Phase == Ready {
			ready++
		}
	}
	mayDrain := s.Waiting == 0 && (s.LastDown.IsZero() || !s.Now.Before(s.LastDown.Add(p.Cooldown)))
	for _, m := range s.Machines {
		switch m.Phase {
		case Ready:
			if !mayDrain || ready <= p.Standby || m.Busy || m.Idle.IsZero() ||
				s.Now.Before(m.Idle.Add(p.Timeout)) || s.Now.Before(m.Started.Add(p.Cooldown)) {
				continue
			}
			out = append(out, Decision{Drain, m.ID, fmt.Sprintf("idle for %v, more than machines_timeout (%v), with %d machines and %d standby", s.Now.Sub(m.Idle).Round(time.Second), p.Timeout, ready, p.Standby)})
			ready--
		case Draining:
			if !m.Busy && !undrained(out, m.ID) {
				out = append(out, Decision{Release, m.ID, "drained: nothing runs on it"})
			}
		}
	}
	return out
}

func undrained(ds []Decision, id string) bool {
	for _, d := range ds {
		if d.Kind == Undrain && d.Machine == id {
			return true
		}
	}
	return false
}
