package scale_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/scale"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func policy() scale.Policy {
	return scale.Policy{Standby: 1, Limit: 4, Timeout: time.Minute, Cooldown: 10 * time.Second, Slots: 2}
}

// kinds is what ds do, as "start", "drain m1", ...
func kinds(ds []scale.Decision) []string {
	var out []string
	for _, d := range ds {
		s := string(d.Kind)
		if d.Machine != "" {
			s += " " + d.Machine
		}
		out = append(out, s)
	}
	return out
}

func ready(id string, busy bool, idle time.Time) scale.Machine {
	return scale.Machine{ID: id, Phase: scale.Ready, Since: t0.Add(-time.Hour), Started: t0.Add(-time.Hour), Busy: busy, Idle: idle}
}

func TestDecide(t *testing.T) {
	now := t0
	idleLong := now.Add(-2 * time.Minute)
	for _, c := range []struct {
		name  string
		p     scale.Policy
		s     scale.State
		want  []string
		cause string // in the first decision's reason
	}{
		{name: "an empty cluster starts its standby", p: policy(),
			s: scale.State{Now: now}, want: []string{"start"}, cause: "standby"},
		{name: "a burst scales up by what waits, counting slots", p: policy(),
			s: scale.State{Now: now, Waiting: 7}, want: []string{"start", "start", "start", "start"}, cause: "7 runs wait"},
		{name: "never past the limit", p: scale.Policy{Limit: 2, Slots: 1},
			s: scale.State{Now: now, Waiting: 50}, want: []string{"start", "start"}},
		{name: "machines on their way count", p: policy(),
			s: scale.State{Now: now, Waiting: 4, Machines: []scale.Machine{
				{ID: "m1", Phase: scale.Starting, Since: now, Started: now},
				{ID: "m2", Phase: scale.Starting, Since: now, Started: now},
			}}, want: nil},
		{name: "free slots count", p: policy(),
			s: scale.State{Now: now, Waiting: 2, FreeSlots: 2, Machines: []scale.Machine{ready("m1", true, time.Time{})}}, want: nil},
		{name: "an idle machine past the timeout above standby is drained", p: policy(),
			s:    scale.State{Now: now, Machines: []scale.Machine{ready("m1", true, time.Time{}), ready("m2", false, idleLong)}},
			want: []string{"drain m2"}, cause: "idle for 2m0s"},
		{name: "all idle ones go at once, down to the standby", p: policy(),
			s:    scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, idleLong), ready("m2", false, idleLong), ready("m3", false, idleLong)}},
			want: []string{"drain m1", "drain m2"}},
		{name: "a busy machine is never drained", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", true, time.Time{}), ready("m2", true, time.Time{})}}, want: nil},
		{name: "not idle long enough", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, now.Add(-30*time.Second)), ready("m2", false, now.Add(-30*time.Second))}}, want: nil},
		{name: "the standby stays", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, idleLong)}}, want: nil},
		{name: "a cooldown after a scale-down", p: policy(),
			s: scale.State{Now: now, LastDown: now.Add(-5 * time.Second), Machines: []scale.Machine{ready("m1", false, idleLong), ready("m2", false, idleLong)}}, want: nil},
		{name: "no drain while work waits", p: policy(),
			s: scale.State{Now: now, Waiting: 1, FreeSlots: 4, Machines: []scale.Machine{ready("m1", false, idleLong), ready("m2", false, idleLong)}}, want: nil},
		{name: "a young machine is not drained", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, idleLong),
				{ID: "m2", Phase: scale.Ready, Started: now.Add(-5 * time.Second), Idle: idleLong}}}, want: []string{"drain m1"}},
		{name: "a drained machine is released once idle, never while busy", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, idleLong),
				{ID: "m2", Phase: scale.Draining, Busy: true}, {ID: "m3", Phase: scale.Draining, Idle: now}}},
			want: []string{"release m3"}, cause: "drained"},
		{name: "work that comes back takes a draining machine first", p: policy(),
			s:    scale.State{Now: now, Waiting: 2, Machines: []scale.Machine{ready("m1", true, time.Time{}), {ID: "m2", Phase: scale.Draining, Idle: now}}},
			want: []string{"undrain m2"}},
		{name: "a failed start is retried after its backoff", p: policy(),
			s:    scale.State{Now: now, Machines: []scale.Machine{{ID: "m1", Phase: scale.Failed, Since: now.Add(-2 * time.Second), Attempts: 1}}},
			want: []string{"retry m1"}, cause: "attempt 1 of 3"},
		{name: "not before its backoff", p: policy(),
			s:    scale.State{Now: now, Machines: []scale.Machine{{ID: "m1", Phase: scale.Failed, Since: now.Add(-time.Second), Attempts: 2}}},
			want: nil},
		{name: "given up after three, and replaced", p: policy(),
			s:    scale.State{Now: now, Machines: []scale.Machine{{ID: "m1", Phase: scale.Failed, Since: now.Add(-time.Hour), Attempts: 3}}},
			want: []string{"forget m1", "start"}, cause: "failed to start 3 times"},
		{name: "a machine whose worker never joins is given up, and replaced", p: policy(),
			s:    scale.State{Now: now, Waiting: 1, Machines: []scale.Machine{{ID: "m1", Phase: scale.Starting, Since: now.Add(-3 * time.Minute), Started: now.Add(-3 * time.Minute)}}},
			want: []string{"forget m1", "start"}, cause: "did not join within 2m0s"},
		{name: "a draining machine being released takes no part", p: policy(),
			s: scale.State{Now: now, Machines: []scale.Machine{ready("m1", false, time.Time{}), {ID: "m2", Phase: scale.Releasing}}}, want: nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds := scale.Decide(c.p, c.s)
			if got := kinds(ds); !slices.Equal(got, c.want) {
				t.Fatalf("decided %q, want %q: %+v", got, c.want, ds)
			}
			if c.cause != "" && !strings.Contains(ds[0].Reason, c.cause) {
				t.Fatalf("reason %q, want it to say %q", ds[0].Reason, c.cause)
			}
		})
	}
}

// A burst of work on a cluster of one standby machine, played out in
// steps of time with the decisions carried out: it scales up at once,
// runs the work, and comes back to its standby machine after the
// timeout, never draining a busy one.
func TestDecideOverTime(t *testing.T) {
	p := policy()
	now := t0
	machines := []scale.Machine{ready("m0", false, t0.Add(-time.Hour))}
	waiting, lastDown, n := 9, time.Time{}, 1
	var log []string
	apply := func(ds []scale.Decision) {
		for _, d := range ds {
			log = append(log, fmt.Sprintf("%v %s", now.Sub(t0), kinds([]scale.Decision{d})[0]))
			switch d.Kind {
			case scale.Start:
				machines = append(machines, scale.Machine{ID: fmt.Sprint("m", n), Phase: scale.Starting, Since: now, Started: now})
				n++
			case scale.Drain:
				lastDown = now
				for i := range machines {
					if machines[i].ID == d.Machine {
						if machines[i].Busy {
							t.Fatalf("drained busy %s", d.Machine)
						}
						machines[i].Phase = scale.Draining
					}
				}
			case scale.Release:
				machines = slices.DeleteFunc(machines, func(m scale.Machine) bool { return m.ID == d.Machine })
			}
		}
	}
	for step := 0; step < 40; step++ {
		free := 0
		for i := range machines {
			m := &machines[i]
			if m.Phase == scale.Starting && now.Sub(m.Since) >= time.Second { // joins in a second
				m.Phase, m.Since = scale.Ready, now
			}
			if m.Phase == scale.Ready {
				take := min(waiting, p.Slots)
				waiting -= take
				m.Busy = take > 0
				if !m.Busy && m.Idle.IsZero() {
					m.Idle = now
				}
				if m.Busy {
					m.Idle = time.Time{}
				}
				free += p.Slots - take
			}
		}
		apply(scale.Decide(p, scale.State{Now: now, Waiting: waiting, FreeSlots: free, Machines: machines, LastDown: lastDown}))
		now = now.Add(10 * time.Second)
	}
	if len(machines) != 1 || waiting != 0 {
		t.Fatalf("ended with %d machines and %d runs waiting:\n%s", len(machines), waiting, strings.Join(log, "\n"))
	}
	if !strings.HasPrefix(log[0], "0s start") || !slices.Contains(log, "0s start") {
		t.Fatalf("did not scale up at once:\n%s", strings.Join(log, "\n"))
	}
}
