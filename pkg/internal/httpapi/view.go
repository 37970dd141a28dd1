package httpapi

import (
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// TaskView is the JSON form of a task. Times given in seconds by the form
// (duration, start, delay) are reported in seconds too.
type TaskView struct {
	ID          string      `json:"id"`
	Description string      `json:"description"`
	Status      task.Status `json:"status"`
	Completions int64       `json:"completions"`
	Duration    float64     `json:"duration"`
	Start       float64     `json:"start"`
	Delay       float64     `json:"delay"`
	Repeats     int         `json:"repeats"`
	Input       *int64      `json:"input"`
	Difficulty  *int64      `json:"difficulty"`
	Module      string      `json:"module"`
	Args        []string    `json:"args,omitempty"`
	Env         []string    `json:"env,omitempty"`
	Memory      uint64      `json:"memory,omitempty"`
	Retries     int         `json:"retries"`
	Priority    int         `json:"priority,omitempty"`
	Labels      []string    `json:"labels,omitempty"`
	Dirs        []string    `json:"dirs,omitempty"`  // worker directories mounted at /NAME
	Owner       string      `json:"owner,omitempty"` // the name of the token it was submitted with
	Created     time.Time   `json:"created"`
	Result      string      `json:"result"`
	Runs        []task.Run  `json:"runs"`
}

func viewOf(t task.Task, defaultTimeout time.Duration) TaskView {
	s := t.Spec
	d := s.Duration
	if d == 0 {
		d = defaultTimeout
	}
	v := TaskView{
		ID: s.ID, Description: s.Description, Status: t.Status, Completions: t.Completions,
		Duration: d.Seconds(), Start: s.Start.Seconds(), Delay: s.Delay.Seconds(),
		Repeats: s.RunCount(), Input: s.Input, Difficulty: s.Difficulty, Module: s.Module,
		Args: s.Args, Env: s.Env, Memory: s.Memory, Priority: s.Priority, Labels: s.Labels, Dirs: s.Dirs, Owner: s.Owner,
		Created: t.Created, Result: t.Result, Runs: t.Runs,
	}
	if s.Retries != nil {
		v.Retries = *s.Retries
	}
	return v
}
