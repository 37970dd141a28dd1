package api

import "time"

// Cluster is a gateway's cluster as GET /cluster shows it: how it scales,
// the machines it asked its backend for, and its latest decisions with
// their reasons (docs/CLUSTERS.md).
type Cluster struct {
	// Backend provisions its machines ("local", "docker"); "" when the
	// gateway does not scale.
	Backend         string  `json:"backend,omitempty"`
	StandbyMachines int     `json:"standby_machines"`
	MachinesLimit   int     `json:"machines_limit"`
	MachinesTimeout float64 `json:"machines_timeout"` // seconds
	Cooldown        float64 `json:"cooldown"`         // seconds
	// Task is the task whose policy is in force (PUT /cluster/policy
	// with task: an application's [cluster] table while it runs); "":
	// the cluster's own.
	Task      string          `json:"task,omitempty"`
	Machines  []Machine       `json:"machines"`
	Decisions []ScaleDecision `json:"decisions"`
}

// Machine is one machine of a cluster.
type Machine struct {
	ID string `json:"id"`
	// Phase is starting, ready, draining, releasing or failed.
	Phase    string    `json:"phase"`
	Worker   string    `json:"worker,omitempty"` // its worker's peer ID, once joined
	Started  time.Time `json:"started"`          // asked for
	Since    time.Time `json:"since"`            // of its phase
	Attempts int       `json:"attempts"`         // tries to start it
	Busy     bool      `json:"busy"`
	Idle     time.Time `json:"idle,omitzero"` // since when nothing runs on it
}

// ScaleDecision is one thing the scaler did or saw, and why: start,
// retry, drain, undrain, release, forget (its decisions), ready, failed,
// released, lost (what happened to a machine).
type ScaleDecision struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Machine string    `json:"machine,omitempty"`
	Reason  string    `json:"reason"`
}

// ClusterPolicy is the body of PUT /cluster/policy: how the cluster
// scales from now on; a field left out keeps its value. With Task, the
// policy lasts while that task runs (an application's [cluster] table,
// shoal cluster run) and the cluster's own comes back when it ends;
// without, it is the cluster's own, and any task's ends at once.
type ClusterPolicy struct {
	Task            string   `json:"task,omitempty"`
	StandbyMachines *int     `json:"standby_machines,omitempty"`
	MachinesLimit   *int     `json:"machines_limit,omitempty"`
	MachinesTimeout *Seconds `json:"machines_timeout,omitempty"`
	Cooldown        *Seconds `json:"cooldown,omitempty"`
}

// Bundle is a set of files deployed to the gateway under a name (PUT
// /bundles/{name}, a tar archive; shoal cluster deploy --directory): a
// task with bundle=NAME runs in a fresh working directory holding them.
type Bundle struct {
	Name  string `json:"name"`
	Files []File `json:"files"`
}
