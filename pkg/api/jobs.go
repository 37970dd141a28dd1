package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Skipped is the status of a job's step that never ran: a step it needs
// failed, or the job ended before it (docs/JOBS.md). Tasks and runs never
// take it.
const Skipped Status = "skipped"

// StepStatuses lists the statuses of a job's step, in the order a step
// moves through them: queued, running, then one of the final ones.
var StepStatuses = []Status{Queued, Running, Succeeded, Failed, Canceled, Skipped}

// Limits of one job request, past which POST /jobs answers 400 naming the
// field.
const (
	MaxSteps       = 256
	MaxMetadata    = 64      // entries of a job's metadata
	MaxStepStdin   = 1 << 20 // bytes of a step's stdin
	MaxModuleName  = 128     // bytes of a module's name
	MaxCallbackURL = 2048
	// MaxJobBytes bounds what a job's steps carry to their worker: their
	// arguments, environment (the metadata counts in each step) and stdin
	// together, so that a job travels in one message well under the
	// wire's 64 MiB.
	MaxJobBytes = 16 << 20
	// MaxStepMemory is the most linear memory a step may ask for: a wasm32
	// module's 4 GiB.
	MaxStepMemory = 4 << 30
	// MaxJobFileCount bounds the artifacts of one job.
	MaxJobFileCount = 10_000
)

// JobRequest is the body of POST /jobs: a job of steps that run on one
// worker and share a directory mounted at /shared (docs/JOBS.md).
type JobRequest struct {
	// ID names the job; generated when empty. Jobs and tasks share one
	// namespace of ids.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Metadata becomes environment variables of every step (a step's own
	// env wins over it).
	Metadata map[string]string `json:"metadata,omitempty"`
	// TimeoutSeconds bounds the whole job: past it the running steps end
	// and the job fails. 0: the sum of its steps' time limits.
	TimeoutSeconds Seconds `json:"timeout_seconds,omitempty"`
	Priority       int     `json:"priority,omitempty"`
	// CallbackURL receives a POST of the Job on every change of its
	// status (docs/JOBS.md "Callbacks").
	CallbackURL string `json:"callback_url,omitempty"`
	// Labels place the job, like a task's: only on a worker offering all.
	Labels []string `json:"labels,omitempty"`
	// Retries bounds the extra attempts after a lost worker (each from
	// the first step, with a fresh directory); nil: the gateway's default.
	Retries *int          `json:"retries,omitempty"`
	Steps   []StepRequest `json:"steps"`
}

// StepRequest is one step of a JobRequest.
type StepRequest struct {
	// ID names the step in needs, logs and errors; "step1", "step2", ...
	// when empty.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Module is "sha256:HEX" of an uploaded module, or a module's name
	// (PUT /modules?name=NAME).
	Module string            `json:"module"`
	Args   []string          `json:"args,omitempty"` // argv after argv[0], which is the step's id
	Env    map[string]string `json:"env,omitempty"`
	Stdin  string            `json:"stdin,omitempty"`
	// Timeout is the step's time limit; 0: the gateway's task timeout.
	Timeout Seconds `json:"timeout,omitempty"`
	Memory  Bytes   `json:"memory,omitempty"` // bytes of linear memory; 0: the worker's default
	Fuel    uint64  `json:"fuel,omitempty"`
	// ContinueOnError lets the job go on when this step fails: the steps
	// after it (or needing it) still run, and the job's status is that
	// of its other steps.
	ContinueOnError bool `json:"continue_on_error,omitempty"`
	// Needs lists the ids of the steps that must succeed before this one
	// starts; nil: the step before it in the list (none for the first).
	// An empty list starts the step at once.
	Needs []string `json:"needs"`
}

// Job is a job as the API shows it (GET /jobs/{id}, and the answers of
// POST /jobs and DELETE /jobs/{id}).
type Job struct {
	ID             string            `json:"id"`
	Name           string            `json:"name,omitempty"`
	Status         Status            `json:"status"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	TimeoutSeconds float64           `json:"timeout_seconds"`
	Priority       int               `json:"priority,omitempty"`
	CallbackURL    string            `json:"callback_url,omitempty"`
	Labels         []string          `json:"labels,omitempty"`
	Owner          string            `json:"owner,omitempty"`
	Created        time.Time         `json:"created"`
	Started        time.Time         `json:"started,omitzero"`
	Ended          time.Time         `json:"ended,omitzero"`
	Worker         string            `json:"worker,omitempty"`
	// Attempt counts the job's tries: a job whose worker is lost runs
	// again from its first step, on another worker.
	Attempt int    `json:"attempt"`
	Error   string `json:"error,omitempty"`
	Steps   []Step `json:"steps"`
	// Files are the artifacts: what the job left in /shared when it
	// ended (GET /jobs/{id}/files/{path}); GET /jobs leaves them out.
	Files     []File     `json:"files,omitempty"`
	Callbacks []Callback `json:"callbacks,omitempty"`
}

// Step is one step of a Job.
type Step struct {
	ID              string    `json:"id"`
	Name            string    `json:"name,omitempty"`
	Module          string    `json:"module"` // lowercase hex SHA-256
	Args            []string  `json:"args,omitempty"`
	Needs           []string  `json:"needs"`
	ContinueOnError bool      `json:"continue_on_error,omitempty"`
	Timeout         float64   `json:"timeout"`
	Memory          uint64    `json:"memory,omitempty"`
	Fuel            uint64    `json:"fuel,omitempty"`
	Status          Status    `json:"status"`
	Started         time.Time `json:"started,omitzero"`
	Ended           time.Time `json:"ended,omitzero"`
	ExitCode        int32     `json:"exit_code"`
	Error           string    `json:"error,omitempty"`
	FuelUsed        uint64    `json:"fuel_used,omitempty"`
}

// File is one artifact of a job: a file it left in /shared, by its path
// there.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Callback is one attempt to deliver a job's status to its callback_url.
type Callback struct {
	Time    time.Time `json:"time"`
	Status  Status    `json:"status"`         // the job's status it told
	Attempt int       `json:"attempt"`        // 1 for the first try of this status
	Code    int       `json:"code,omitempty"` // the HTTP status answered
	Error   string    `json:"error,omitempty"`
}

// The server-sent events of GET /jobs/{id}/logs?follow=1: EventLog (data:
// a LogEntry with its step) per chunk of output, then EventEnd (data: the
// Job) when the job has ended.

// JobLogs is the answer of GET /jobs/{id}/logs.
type JobLogs struct {
	Job     string     `json:"job"`
	Done    bool       `json:"done"`
	Entries []LogEntry `json:"entries"`
}

// Seconds is a time in a JSON body: a number of seconds, or a string that
// ParseSeconds takes ("90", "1m30s").
type Seconds time.Duration

// UnmarshalJSON reads a number or a string.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	x, err := jsonScalar(b)
	if err != nil {
		return err
	}
	d, err := ParseSeconds(x)
	if err != nil {
		return err
	}
	*s = Seconds(d)
	return nil
}

// MarshalJSON writes seconds as a number.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(FormatSeconds(time.Duration(s))), nil
}

// Bytes is a size in a JSON body: a number of bytes, or a string that
// ParseBytes takes ("64MiB").
type Bytes uint64

// UnmarshalJSON reads a number or a string.
func (n *Bytes) UnmarshalJSON(b []byte) error {
	x, err := jsonScalar(b)
	if err != nil {
		return err
	}
	v, err := ParseBytes(x)
	if err != nil {
		return err
	}
	*n = Bytes(v)
	return nil
}

// MarshalJSON writes a number of bytes.
func (n Bytes) MarshalJSON() ([]byte, error) {
	return strconv.AppendUint(nil, uint64(n), 10), nil
}

// jsonScalar returns a JSON number's text or a JSON string's value.
func jsonScalar(b []byte) (string, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("want a number or a string, got %s", b)
	}
	return n.String(), nil
}
