package api

import "net/http"

// Route is one endpoint of the API. Routes lists them all: the gateway's
// tests check that it serves exactly these, and OpenAPI describes them.
type Route struct {
	Method string
	// Path is a net/http pattern's path; {id} is a path parameter.
	Path    string
	Summary string
	// Public routes need no bearer token, even when the gateway has tokens.
	Public bool
	// Local routes are reads that a follower of a replicated group
	// answers from its own store (docs/HA.md), unless asked for
	// ParamConsistent (or to wait, or to follow); it passes every other
	// route to the leader.
	Local bool
	Query []Param
	Body  BodyKind
	// Status is the status of a successful answer.
	Status int
	// Answer is a value of the Go type a successful answer's JSON body
	// encodes; nil when the body is not JSON (Media says what it is).
	Answer any
	Media  string
	// Events are the server-sent events that replace the answer when the
	// client asks for a stream (GET /tasks/{id}/logs?follow=1).
	Events []Event
	// Headers are headers of a successful answer.
	Headers []Param
	// Also are answers that are neither successes nor errors: GET
	// /readyz's 503 with its reason.
	Also []Answer
	// Errors are the codes the route answers with an *Error.
	Errors []Code
}

// Pattern is r's net/http pattern, "GET /tasks/{id}".
func (r *Route) Pattern() string { return r.Method + " " + r.Path }

// Param is a query parameter of a route, or a header of its answer.
type Param struct {
	Name  string
	Kind  FieldKind
	Enum  []string // the only values it takes, when set
	Usage string
}

// Answer is an answer of a route besides its success and its errors.
type Answer struct {
	Status int
	Body   any // a value of its JSON body's Go type
	Usage  string
}

// Event is a server-sent event of a stream: its name and a value of the
// Go type its data encodes as JSON.
type Event struct {
	Name string
	Data any
}

// BodyKind is what a route reads from a request's body.
type BodyKind int

// The request bodies of the API.
const (
	NoBody     BodyKind = iota
	FormBody            // multipart/form-data with the fields of TaskFields
	BatchBody           // JSON: task objects with the fields of TaskFields (Batch)
	WasmBody            // the raw bytes of a WebAssembly module
	JobBody             // JSON: a JobRequest
	PolicyBody          // JSON: a ClusterPolicy
	TarBody             // a tar archive of files
	MemberBody          // JSON: a RaftMember
)

// The errors every route that reads a task can answer; writes add theirs.
var (
	readErrors  = []Code{CodeUnauthorized, CodeNotFound, CodeInternal}
	writeErrors = []Code{CodeInvalid, CodeUnauthorized, CodeTimeout, CodeConflict, CodeTooLarge, CodeTooMany, CodeUnavailable, CodeNoSpace, CodeInternal}
)

// consistentParam is ParamConsistent, which every Local route takes.
var consistentParam = Param{Name: ParamConsistent, Kind: KindText, Enum: []string{"1", "true"},
	Usage: "on a replicated group's follower: pass the read to the leader, which answers it once it has confirmed that it still leads (docs/HA.md)"}

// statusParam is ?status= of GET /tasks: one status, or several
// comma-separated.
var statusParam = func() Param {
	p := Param{Name: "status", Kind: KindList, Usage: "only tasks in these statuses, comma-separated"}
	for _, s := range Statuses {
		p.Enum = append(p.Enum, string(s))
	}
	return p
}()

// Routes is the API: every endpoint a gateway answers on its HTTP address,
// besides the dashboard's page and files (GET / and /ui/...).
var Routes = []Route{
	{Method: "POST", Path: "/tasks", Summary: "Submit a task: its module uploaded as the wasm file part, or named by module=sha256:HEX",
		Body: FormBody, Status: http.StatusCreated, Answer: Task{},
		Headers: []Param{{Name: "Location", Kind: KindText, Usage: "the task's path, /tasks/{id}"}},
		Errors:  writeErrors},
	{Method: "POST", Path: "/tasks/batch", Summary: "Submit many tasks at once, all or none, their modules named by hash",
		Body: BatchBody, Status: http.StatusCreated, Answer: Batch{}, Errors: writeErrors},
	{Method: "GET", Path: "/tasks", Local: true, Summary: "List tasks, in creation order",
		Query: []Param{
			{Name: "limit", Kind: KindInt, Usage: "at most this many tasks"},
			{Name: "after", Kind: KindText, Usage: "the cursor of the previous page (its X-Next-Cursor)"},
			{Name: "order", Kind: KindText, Enum: []string{"asc", "desc"}, Usage: "creation order: asc (oldest first) or desc"},
			statusParam,
		},
		Status: http.StatusOK, Answer: []Task{},
		Headers: []Param{
			{Name: "Link", Kind: KindText, Usage: `the next page, rel="next"`},
			{Name: "X-Next-Cursor", Kind: KindText, Usage: "the after= of the next page; absent on the last"},
		},
		Errors: []Code{CodeInvalid, CodeUnauthorized, CodeInternal}},
	{Method: "GET", Path: "/tasks/{id}", Local: true, Summary: "A task, with its runs",
		Query: []Param{
			{Name: "wait", Kind: KindSeconds, Usage: "wait up to this long for the task to end: seconds, or a duration like 1m30s (at most 5m)"},
			{Name: "runs", Kind: KindInt, Usage: "show at most the last N runs"},
		},
		Status: http.StatusOK, Answer: Task{}, Errors: append([]Code{CodeInvalid}, readErrors...)},
	{Method: "DELETE", Path: "/tasks/{id}", Summary: "Cancel a task: queued runs never start, running ones are stopped; ?purge=1 deletes it",
		Query: []Param{{Name: ParamPurge, Kind: KindText, Enum: []string{"1", "true"},
			Usage: "delete the task with its runs, results and logs (canceled first if it has not ended); answers 204 without a body"}},
		Status: http.StatusOK, Answer: Task{},
		Also:   []Answer{{Status: http.StatusNoContent, Usage: "purged"}},
		Errors: []Code{CodeInvalid, CodeUnauthorized, CodeNotFound, CodeConflict, CodeUnavailable, CodeNoSpace, CodeInternal}},
	{Method: "GET", Path: "/tasks/{id}/logs", Local: true, Summary: "The runs' stdout and stderr; ?follow=1 streams them as server-sent events",
		Query: []Param{{Name: "follow", Kind: KindText, Enum: []string{"1", "true"},
			Usage: "stream server-sent events: log (one per chunk of output), then end (the task) when it has ended"}},
		Status: http.StatusOK, Answer: Logs{},
		Events: []Event{{Name: EventLog, Data: LogEntry{}}, {Name: EventEnd, Data: Task{}}},
		Errors: readErrors},
	{Method: "GET", Path: "/tasks/{id}/files", Local: true, Summary: "The task's artifacts (shared=1): the files its run that ended last left in /shared",
		Status: http.StatusOK, Answer: []File{}, Errors: readErrors},
	{Method: "GET", Path: "/tasks/{id}/files/{path...}", Local: true, Summary: "One artifact's bytes",
		Status: http.StatusOK, Media: "application/octet-stream", Errors: readErrors},
	{Method: "PUT", Path: "/modules", Summary: "Upload a module once, for module=sha256:HEX; ?name=NAME also names it, for a job's steps",
		Query: []Param{{Name: "name", Kind: KindText, Usage: "a name for the module (a-z, 0-9, '.', '_', '-'); it moves from any module it named before"}},
		Body:  WasmBody, Status: http.StatusCreated, Answer: Module{},
		Errors: []Code{CodeInvalid, CodeUnauthorized, CodeTimeout, CodeTooLarge, CodeUnavailable, CodeNoSpace, CodeInternal}},
	{Method: "GET", Path: "/modules", Local: true, Summary: "The names given to modules (PUT /modules?name=NAME)",
		Status: http.StatusOK, Answer: []ModuleName{}, Errors: []Code{CodeUnauthorized, CodeInternal}},
	{Method: "POST", Path: "/jobs", Summary: "Submit a job: steps that run on one worker and share /shared (docs/JOBS.md)",
		Body: JobBody, Status: http.StatusCreated, Answer: Job{},
		Headers: []Param{{Name: "Location", Kind: KindText, Usage: "the job's path, /jobs/{id}"}},
		Errors:  writeErrors},
	{Method: "GET", Path: "/jobs", Local: true, Summary: "List jobs, newest first",
		Query: []Param{
			{Name: "limit", Kind: KindInt, Usage: "at most this many jobs"},
			{Name: "after", Kind: KindText, Usage: "the cursor of the previous page (its X-Next-Cursor)"},
			{Name: "order", Kind: KindText, Enum: []string{"asc", "desc"}, Usage: "creation order: asc (oldest first) or desc"},
			statusParam,
		},
		Status: http.StatusOK, Answer: []Job{},
		Headers: []Param{
			{Name: "Link", Kind: KindText, Usage: `the next page, rel="next"`},
			{Name: "X-Next-Cursor", Kind: KindText, Usage: "the after= of the next page; absent on the last"},
		},
		Errors: []Code{CodeInvalid, CodeUnauthorized, CodeInternal}},
	{Method: "GET", Path: "/jobs/{id}", Local: true, Summary: "A job, with its steps, artifacts and callbacks",
		Query:  []Param{{Name: "wait", Kind: KindSeconds, Usage: "wait up to this long for the job to end: seconds, or a duration like 1m30s (at most 5m)"}},
		Status: http.StatusOK, Answer: Job{}, Errors: append([]Code{CodeInvalid}, readErrors...)},
	{Method: "DELETE", Path: "/jobs/{id}", Summary: "Cancel a job: its running steps end, no other starts",
		Status: http.StatusOK, Answer: Job{},
		Errors: []Code{CodeUnauthorized, CodeNotFound, CodeConflict, CodeUnavailable, CodeNoSpace, CodeInternal}},
	{Method: "GET", Path: "/jobs/{id}/logs", Local: true, Summary: "The steps' stdout and stderr, each entry with its step; ?follow=1 streams them as server-sent events",
		Query: []Param{{Name: "follow", Kind: KindText, Enum: []string{"1", "true"},
			Usage: "stream server-sent events: log (one per chunk of output), then end (the job) when it has ended"}},
		Status: http.StatusOK, Answer: JobLogs{},
		Events: []Event{{Name: EventLog, Data: LogEntry{}}, {Name: EventEnd, Data: Job{}}},
		Errors: readErrors},
	{Method: "GET", Path: "/jobs/{id}/files", Local: true, Summary: "The job's artifacts: the files it left in /shared",
		Status: http.StatusOK, Answer: []File{}, Errors: readErrors},
	{Method: "GET", Path: "/jobs/{id}/files/{path...}", Local: true, Summary: "One artifact's bytes",
		Status: http.StatusOK, Media: "application/octet-stream", Errors: readErrors},
	{Method: "GET", Path: "/cluster", Summary: "How the cluster scales: its policy, the machines its backend gave, and the latest decisions with their reasons",
		Status: http.StatusOK, Answer: Cluster{}, Errors: []Code{CodeUnauthorized}},
	{Method: "POST", Path: "/cluster/clean-up", Summary: "Give back every machine of the cluster now, to start afresh (its standby machines come back new); 409 while one runs something",
		Status: http.StatusOK, Answer: Cluster{}, Errors: []Code{CodeUnauthorized, CodeForbidden, CodeConflict}},
	{Method: "PUT", Path: "/cluster/policy", Summary: "Change how the cluster scales from now on: standby_machines, machines_limit, machines_timeout, cooldown (those given)",
		Body: PolicyBody, Status: http.StatusOK, Answer: Cluster{}, Errors: []Code{CodeInvalid, CodeUnauthorized, CodeForbidden, CodeConflict}},
	{Method: "GET", Path: "/raft/join-token", Summary: "The replicated group's join token, which every member admits: a worker with it and each member's address (--dial, repeated) joins whichever leads",
		Status: http.StatusOK, Answer: JoinToken{}, Errors: []Code{CodeUnauthorized, CodeForbidden, CodeConflict, CodeInternal}},
	{Method: "POST", Path: "/raft/members", Summary: "Add a member to the replicated group of gateways (docs/HA.md), one at a time; the answer is the group after",
		Body: MemberBody, Status: http.StatusOK, Answer: RaftInfo{}, Errors: []Code{CodeInvalid, CodeUnauthorized, CodeForbidden, CodeConflict, CodeUnavailable}},
	{Method: "DELETE", Path: "/raft/members/{address}", Summary: "Remove a member from the replicated group of gateways (docs/HA.md); the answer is the group after",
		Status: http.StatusOK, Answer: RaftInfo{}, Errors: []Code{CodeInvalid, CodeUnauthorized, CodeForbidden, CodeConflict, CodeNotFound, CodeUnavailable}},
	{Method: "PUT", Path: "/bundles/{name}", Summary: "Deploy files under a name, as a tar archive: a task with bundle=NAME runs in a fresh working directory holding them",
		Body: TarBody, Status: http.StatusCreated, Answer: Bundle{},
		Errors: []Code{CodeInvalid, CodeUnauthorized, CodeTooLarge, CodeUnavailable, CodeNoSpace, CodeInternal}},
	{Method: "GET", Path: "/bundles/{name}", Local: true, Summary: "The files deployed under a name",
		Status: http.StatusOK, Answer: Bundle{}, Errors: []Code{CodeUnauthorized, CodeNotFound, CodeInternal}},
	{Method: "GET", Path: "/workers", Summary: "The gateway's pool of workers",
		Status: http.StatusOK, Answer: []Worker{}, Errors: []Code{CodeUnauthorized}},
	{Method: "GET", Path: "/info", Summary: "The gateway's peer ID, addresses and version",
		Status: http.StatusOK, Answer: Info{}, Errors: []Code{CodeUnauthorized}},
	{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is alive and serving",
		Status: http.StatusOK, Answer: Health{}, Public: true},
	{Method: "GET", Path: "/readyz", Summary: "Readiness: 200 when the gateway takes work, 503 while it starts, drains or its disk is full",
		Status: http.StatusOK, Answer: Ready{},
		Also:   []Answer{{Status: http.StatusServiceUnavailable, Body: Ready{}, Usage: "not ready, and why"}},
		Errors: []Code{CodeUnauthorized}},
	{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics (docs/METRICS.md); with tokens, for a token of role admin only",
		Status: http.StatusOK, Media: "text/plain", Errors: []Code{CodeUnauthorized, CodeForbidden}},
	{Method: "GET", Path: "/openapi.json", Summary: "This document: the API in OpenAPI 3",
		Public: true, Status: http.StatusOK, Answer: map[string]any{}},
}
