package api

import "time"

// Status is where a task or a run is: scheduled, queued, running, then
// succeeded, failed or canceled.
type Status string

// The statuses a task or run moves through. A task is Scheduled until its
// first run is due, Queued while a due run waits for a worker, Running while
// a run executes, and ends Succeeded, Failed or Canceled.
const (
	Scheduled Status = "scheduled"
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Canceled  Status = "canceled"
)

// Statuses lists every status, in the order a task moves through them.
var Statuses = []Status{Scheduled, Queued, Running, Succeeded, Failed, Canceled}

// Done reports whether s is final.
func (s Status) Done() bool { return s == Succeeded || s == Failed || s == Canceled }

// Task is a task as the API shows it (GET /tasks/{id}, and the answer of
// POST /tasks and DELETE /tasks/{id}). Times the form takes in seconds
// (duration, start, delay) are shown in seconds.
type Task struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Status      Status    `json:"status"`
	Completions int64     `json:"completions"`
	Duration    float64   `json:"duration"` // the time limit of a run, the gateway's default if the task set none
	Start       float64   `json:"start"`
	Delay       float64   `json:"delay"`
	Repeats     int       `json:"repeats"`
	Input       *int64    `json:"input"`
	Difficulty  *int64    `json:"difficulty"`
	Module      string    `json:"module"` // lowercase hex SHA-256
	Args        []string  `json:"args,omitempty"`
	Env         []string  `json:"env,omitempty"`
	Memory      uint64    `json:"memory,omitempty"`
	Cores       float64   `json:"cores,omitempty"` // cores a run reserves on its worker
	Fuel        uint64    `json:"fuel,omitempty"`  // most fuel a run may use
	Retries     int       `json:"retries"`
	Priority    int       `json:"priority,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	Dirs        []string  `json:"dirs,omitempty"`   // worker directories mounted at /NAME
	Shared      bool      `json:"shared,omitempty"` // each run has a fresh /shared, its files the task's artifacts
	Bundle      string    `json:"bundle,omitempty"` // deployed files each run's working directory holds
	Owner       string    `json:"owner,omitempty"`  // the name of the token it was submitted with
	Created     time.Time `json:"created"`
	Result      string    `json:"result"` // the result of its last run that succeeded
	// ResultBytes is the size of the whole result when Result holds less
	// of it (the task list clips results).
	ResultBytes int   `json:"result_bytes,omitempty"`
	Runs        []Run `json:"runs"`
	// Processes is the process tree of the task's runs that spawned
	// children (docs/PROCESSES.md): each such run's root (pid 0) and
	// every process it spawned, in pid order.
	Processes []Process `json:"processes,omitempty"`
}

// Process is one process of a task's process tree.
type Process struct {
	PID     int    `json:"pid"`
	Parent  int    `json:"parent"` // the parent's pid; -1 for a root
	Key     string `json:"key"`    // its name in the cluster: "task/RUN#ATTEMPT" for a root, then ".PID"
	Run     int    `json:"run"`    // the run of the task whose tree it is in
	Attempt int    `json:"attempt"`
	Status  Status `json:"status"`
	Module  string `json:"module"` // lowercase hex SHA-256
	Worker  string `json:"worker,omitempty"`
	// Cores and Memory are what the process reserves on its worker.
	Cores    float64   `json:"cores,omitempty"`
	Memory   uint64    `json:"memory,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	ExitCode int32     `json:"exit_code"`
	Error    string    `json:"error,omitempty"`
}

// Run is one execution of a task's module. Attempt counts tries of the
// same run (a run is tried again when its worker is lost).
type Run struct {
	Index    int       `json:"index"`
	Attempt  int       `json:"attempt"`
	Status   Status    `json:"status"`
	Due      time.Time `json:"due"`
	Worker   string    `json:"worker,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	ExitCode int32     `json:"exit_code"`
	Result   string    `json:"result,omitempty"`
	// ResultBytes is the size of the run's whole result when Result holds
	// less of it or none: the task list clips results, and a task keeps
	// the results of its newest runs only (the gateway's --keep-results).
	ResultBytes int    `json:"result_bytes,omitempty"`
	Error       string `json:"error,omitempty"`
	Truncated   bool   `json:"truncated,omitempty"`
	// Fuel is what the run used: instructions counted statically per call
	// and per loop iteration, the same for the same module and input on
	// every worker (docs/RATIONALE.md "Fuel").
	Fuel   uint64 `json:"fuel,omitempty"`
	Timing Timing `json:"timing,omitzero"`
}

// Timing is where a run's time went, in nanoseconds, in the order the
// phases happen. Queue is from the run being due to its placement, plus
// any wait for a slot on its worker; Placement is the mesh's own cost of
// the call to the worker; Total is from due to the outcome.
type Timing struct {
	Queue       time.Duration `json:"queue_ns,omitempty"`
	Placement   time.Duration `json:"placement_ns,omitempty"`
	Fetch       time.Duration `json:"fetch_ns,omitempty"`
	Compile     time.Duration `json:"compile_ns,omitempty"`
	Instantiate time.Duration `json:"instantiate_ns,omitempty"`
	Exec        time.Duration `json:"run_ns,omitempty"`
	Total       time.Duration `json:"total_ns,omitempty"`
}

// LogEntry is one chunk of a run's output, as the worker wrote it.
type LogEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Run     int       `json:"run"`
	Attempt int       `json:"attempt"`
	Stream  string    `json:"stream"` // "stdout", "stderr", or "shoal" for the gateway's own lines (reservations)
	Data    string    `json:"data"`
	// Process is the pid of the process that wrote it (0: the run's own
	// module; docs/PROCESSES.md).
	Process int `json:"process,omitempty"`
	// Step is the id of the job's step that wrote it (docs/JOBS.md).
	Step string `json:"step,omitempty"`
}

// Logs is the answer of GET /tasks/{id}/logs: the output the gateway
// holds for the task, and whether the task has ended.
type Logs struct {
	Task    string     `json:"task"`
	Done    bool       `json:"done"`
	Entries []LogEntry `json:"entries"`
}

// The server-sent events of GET /tasks/{id}/logs?follow=1: one EventLog
// (data: a LogEntry) per chunk of output, then EventEnd (data: the Task)
// when the task has ended.
const (
	EventLog = "log"
	EventEnd = "end"
)

// Worker is a worker in the gateway's pool (GET /workers).
type Worker struct {
	ID    string `json:"id"`
	Slots int    `json:"slots"`
	Used  int    `json:"used"`
	// Waiting: short runs given to it beyond its slots, waiting there.
	Waiting int    `json:"waiting"`
	Memory  uint64 `json:"memory"`
	UsedMem uint64 `json:"memory_used"`
	// Cores it offers and those its runs reserve; 0 cores: not accounted.
	Cores     float64  `json:"cores,omitempty"`
	UsedCores float64  `json:"cores_used,omitempty"`
	Labels    []string `json:"labels"`
	Cached    []string `json:"cached"` // SHA-256 of the modules it holds compiled
	Runs      int64    `json:"runs"`   // runs it was given since it joined
}

// Info describes a gateway (GET /info).
type Info struct {
	PeerID  string   `json:"peer_id"`
	Addrs   []string `json:"addrs"`
	Version string   `json:"version"`
	// Raft is the member's view of its replicated group (shoal gateway
	// --raft, docs/HA.md); absent for a gateway that runs alone.
	Raft *RaftInfo `json:"raft,omitempty"`
}

// RaftMember is the body of POST /raft/members: the Raft address of the
// gateway to add, started with --raft ADDRESS and --peers naming the
// group and itself.
type RaftMember struct {
	Address string `json:"address"`
}

// JoinToken is the answer of GET /raft/join-token: the join token of a
// replicated group, which every member admits (shoal worker --join-token,
// with --dial for each member).
type JoinToken struct {
	Token string `json:"token"`
}

// Reads of a replicated group (docs/HA.md). A follower answers the
// routes marked Local from its own store, which may lag the leader's; a
// read with ParamConsistent=1 is passed to the leader, which answers it
// only once it has confirmed that it still leads (else 503). Every answer
// a member gives itself says who gave it and how fresh its store was.
const (
	// ParamConsistent=1 asks for an answer as fresh as the group's
	// latest write.
	ParamConsistent = "consistent"
	// HeaderServedBy is the role ("leader" or "follower") and Raft
	// address of the member that answered: "follower 10.0.0.2:7000".
	HeaderServedBy = "X-Shoal-Served-By"
	// HeaderApplied is the index of the last entry of the group's log
	// applied to that member's store when it answered: the answer holds
	// at least every write up to it.
	HeaderApplied = "X-Shoal-Applied"
)

// RaftInfo is a member's view of its replicated group.
type RaftInfo struct {
	State   string   `json:"state"`            // leader, follower or candidate
	Self    string   `json:"self"`             // this member's Raft address
	Leader  string   `json:"leader,omitempty"` // the leader's Raft address, when known
	API     string   `json:"api,omitempty"`    // the leader's HTTP API, as it announced it
	Term    uint64   `json:"term"`
	Applied uint64   `json:"applied"` // the index of the last entry applied to this member's store
	Members []string `json:"members"` // every member's Raft address
}

// Module is the answer of PUT /modules: the module's address.
type Module struct {
	SHA256 string `json:"sha256"`
	Module string `json:"module"` // "sha256:" + SHA256, as a task's module field takes it
	Size   int    `json:"size"`
	// Name is the name it was given (PUT /modules?name=NAME): a job's
	// step may name it so.
	Name string `json:"name,omitempty"`
}

// ModuleName is a name given to a module (GET /modules).
type ModuleName struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Batch is the answer of POST /tasks/batch: the tasks taken, in the order
// given. The request is JSON: an array of task objects, or
// {"defaults": {...}, "tasks": [...]}, each task with the fields of
// TaskFields as strings or numbers (repeatable ones also as arrays) and
// its module by hash.
type Batch struct {
	Count int         `json:"count"`
	Tasks []BatchTask `json:"tasks"`
}

// BatchTask is one task of a Batch.
type BatchTask struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
}

// MaxBatch bounds the tasks of one POST /tasks/batch.
const MaxBatch = 100_000

// Health is the answer of GET /healthz: the process is alive and serving.
// The endpoint needs no token; the counts are only in the answer to a
// request the gateway would take anyway (one with a valid token, or any
// when the gateway has none), so an anonymous prober learns nothing else.
type Health struct {
	Status string `json:"status"` // "ok"
	Role   string `json:"role"`   // "gateway" or "worker"
	// Workers and Tasks are counted only for a request with a valid token
	// (or when the gateway has no tokens): without one, /healthz tells
	// nothing.
	Workers *int `json:"workers,omitempty"`
	Tasks   *int `json:"tasks,omitempty"`
}

// Ready is the answer of GET /readyz: status "ready" (200), or "not
// ready" (503) with the reason.
type Ready struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
