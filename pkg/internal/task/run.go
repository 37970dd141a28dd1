package task

import "time"

// Run is one execution of a task's module. Attempt counts tries of the same
// run (a run is tried again when its worker is lost); only the result of the
// current attempt is counted, so a late answer from an old attempt is stale.
type Run struct {
	Index     int       `json:"index"`
	Attempt   int       `json:"attempt"`
	Status    Status    `json:"status"`
	Due       time.Time `json:"due"`
	Worker    string    `json:"worker,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`
	ExitCode  int32     `json:"exit_code"`
	Result    string    `json:"result,omitempty"`
	Error     string    `json:"error,omitempty"`
	Truncated bool      `json:"truncated,omitempty"`
	Timing    Timing    `json:"timing,omitzero"`
}

// Timing is where a run's time went, in the order the phases happen.
// Queue is from the run being due to the scheduler placing it, plus any
// wait for a slot on its worker; Placement is the rest of the gateway's
// call to the worker: the round trip less the phases the worker measured
// (wait, fetch, compile, instantiate, run), that is the mesh's own cost
// (for short runs sent in one call, it includes waiting for the others'
// answer); Total is from due to the outcome.
type Timing struct {
	Queue       time.Duration `json:"queue_ns,omitempty"`
	Placement   time.Duration `json:"placement_ns,omitempty"`
	Fetch       time.Duration `json:"fetch_ns,omitempty"`
	Compile     time.Duration `json:"compile_ns,omitempty"`
	Instantiate time.Duration `json:"instantiate_ns,omitempty"`
	Exec        time.Duration `json:"run_ns,omitempty"`
	Total       time.Duration `json:"total_ns,omitempty"`
}

// Outcome is what a worker reports for a run attempt.
type Outcome struct {
	OK        bool
	ExitCode  int32
	Result    string
	Error     string
	Truncated bool
	// Lost means the attempt never produced an answer (the worker went away
	// or the call failed); such an attempt may be retried.
	Lost   bool
	Timing Timing
}
