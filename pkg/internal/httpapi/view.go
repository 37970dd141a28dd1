package httpapi

import (
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// specOf is the task a request asks for, submitted by owner (the name of
// its token). Its module is the uploaded one's hash once the gateway has
// hashed it (SubmitUpload), or the named one.
func specOf(r *api.TaskRequest, owner string) task.Spec {
	return task.Spec{
		ID: r.ID, Description: r.Description, Complete: r.Complete,
		Duration: r.Duration, Start: r.Start, Delay: r.Delay, Repeats: r.Repeats,
		Module: r.Module, Input: r.Input, Difficulty: r.Difficulty,
		Args: r.Args, Env: r.Env, Stdin: r.Stdin, Memory: r.Memory, Cores: r.Cores, Fuel: r.Fuel,
		Retries: r.Retries, Priority: r.Priority, Labels: r.Labels, Dirs: r.Dirs, Shared: r.Shared, Bundle: r.Bundle,
		Owner: owner,
	}
}

// viewOf is the API's view of t; a task that set no time limit shows the
// gateway's, defaultTimeout.
func viewOf(t task.Task, defaultTimeout time.Duration) api.Task {
	s := t.Spec
	d := s.Duration
	if d == 0 {
		d = defaultTimeout
	}
	v := api.Task{
		ID: s.ID, Description: s.Description, Status: t.Status, Completions: t.Completions,
		Duration: d.Seconds(), Start: s.Start.Seconds(), Delay: s.Delay.Seconds(),
		Repeats: s.RunCount(), Input: s.Input, Difficulty: s.Difficulty, Module: s.Module,
		Args: s.Args, Env: s.Env, Memory: s.Memory, Cores: s.Cores.Cores(), Fuel: s.Fuel, Priority: s.Priority, Labels: s.Labels, Dirs: s.Dirs, Shared: s.Shared, Bundle: s.Bundle, Owner: s.Owner,
		Created: t.Created, Result: t.Result, ResultBytes: t.ResultBytes, Runs: t.Runs, Processes: t.Processes,
	}
	if s.Retries != nil {
		v.Retries = *s.Retries
	}
	return v
}
