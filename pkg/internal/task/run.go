package task

import "github.com/shoalmesh/shoal/pkg/api"

// Run is one execution of a task's module. Attempt counts tries of the same
// run (a run is tried again when its worker is lost); only the result of the
// current attempt is counted, so a late answer from an old attempt is stale.
// It is the API's type: its JSON has one home.
type Run = api.Run

// Timing is where a run's time went (see api.Timing).
type Timing = api.Timing

// Outcome is what a worker reports for a run attempt.
type Outcome struct {
	OK        bool
	ExitCode  int32
	Result    string
	Error     string
	Truncated bool
	Fuel      uint64 // what the run used (see api.Run.Fuel)
	// Lost means the attempt never produced an answer (the worker went away
	// or the call failed); such an attempt may be retried.
	Lost   bool
	Timing Timing
}
