// Package job is the domain of jobs: a job is steps, each a run of a
// module, that run on one worker and share a directory mounted at /shared,
// in the order of a graph of dependencies (docs/JOBS.md). Spec is a job as
// accepted; Plan decides, from the steps' states, which steps start next,
// which are skipped and how the job ends. It does no I/O and reads no
// clock: the worker that runs a job and the gateway that shows it use the
// same decisions.
package job

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shoalmesh/shoal/pkg/api"
)

// SharedDir is the name of the job's directory in the guest: /shared.
const SharedDir = "shared"

// Spec is a job as accepted: its steps with their modules resolved to
// hashes and their dependencies made explicit.
type Spec struct {
	Name        string
	Metadata    map[string]string // environment of every step
	Timeout     time.Duration     // of the whole job; 0: the sum of the steps'
	CallbackURL string
	Steps       []Step
}

// Step is one step of a Spec.
type Step struct {
	ID, Name string
	Module   string // sha256, lowercase hex
	Args     []string
	Env      []string // K=V, the metadata's first, then the step's own
	Stdin    []byte
	Timeout  time.Duration // 0: the gateway's task timeout
	Memory   uint64
	Fuel     uint64
	// ContinueOnError: the job goes on past this step's failure.
	ContinueOnError bool
	// Needs are the indexes in Steps of the steps that must succeed (or
	// fail with ContinueOnError) before this one starts.
	Needs []int
}

// Resolve names a module: "sha256:HEX" of an uploaded one, or a name
// given to one with PUT /modules?name=. It returns the hash, or an error
// that says what is wrong.
type Resolve func(module string) (string, error)

// New checks r and returns the job it asks for, resolving each step's
// module with resolve. Its errors are *api.Error naming the field, like
// "steps[2].module".
func New(r api.JobRequest, resolve Resolve) (Spec, error) {
	s := Spec{Name: r.Name, Metadata: r.Metadata, Timeout: time.Duration(r.TimeoutSeconds), CallbackURL: r.CallbackURL}
	if err := checkJob(r); err != nil {
		return Spec{}, err
	}
	ids := make(map[string]int, len(r.Steps))
	for i, sr := range r.Steps {
		id := sr.ID
		if id == "" {
			id = fmt.Sprintf("step%d", i+1)
		}
		if _, dup := ids[id]; dup {
			return Spec{}, api.Invalid(fmt.Sprintf("steps[%d].id", i), "%q is the id of another step", id)
		}
		ids[id] = i
		r.Steps[i].ID = id
	}
	size := 0
	for i, sr := range r.Steps {
		st, err := newStep(sr, i, ids, r.Metadata, resolve)
		if err != nil {
			return Spec{}, err
		}
		s.Steps = append(s.Steps, st)
		size += st.size()
	}
	if size > api.MaxJobBytes {
		return Spec{}, api.Invalid("steps", "their arguments, environment (the metadata counts once in every step) and stdin take %s, more than %s", api.FormatBytes(uint64(size)), api.FormatBytes(api.MaxJobBytes))
	}
	if cyc := cycle(s.Steps); cyc != nil {
		names := make([]string, len(cyc))
		for i, k := range cyc {
			names[i] = s.Steps[k].ID
		}
		return Spec{}, api.Invalid(fmt.Sprintf("steps[%d].needs", cyc[0]), "a cycle: %s", strings.Join(names, " -> "))
	}
	return s, nil
}

// checkJob checks the fields of r that are the job's own.
func checkJob(r api.JobRequest) error {
	switch {
	case r.ID != "" && !api.ValidID(r.ID):
		return api.Invalid("id", "must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit", api.MaxIDLen)
	case !cleanText(r.Name) || len(r.Name) > api.MaxDescription:
		return api.Invalid("name", "must be UTF-8 text without NUL bytes, at most %d bytes", api.MaxDescription)
	case len(r.Metadata) > api.MaxMetadata:
		return api.Invalid("metadata", "more than %d entries", api.MaxMetadata)
	case r.Priority < api.MinPriority || r.Priority > api.MaxPriority:
		return api.Invalid("priority", "must be between %d and %d", api.MinPriority, api.MaxPriority)
	case r.Retries != nil && (*r.Retries < 0 || *r.Retries > api.MaxRetries):
		return api.Invalid("retries", "must be between 0 and %d", api.MaxRetries)
	case len(r.Steps) == 0:
		return api.Invalid("steps", "a job needs at least one step")
	case len(r.Steps) > api.MaxSteps:
		return api.Invalid("steps", "more than %d steps", api.MaxSteps)
	case len(r.Labels) > api.MaxLabels:
		return api.Invalid("labels", "more than %d labels", api.MaxLabels)
	}
	if err := checkEnv("metadata", r.Metadata); err != nil {
		return err
	}
	return checkCallback(r.CallbackURL)
}

// newStep checks step i of a request and returns it with its module and
// needs resolved.
func newStep(r api.StepRequest, i int, ids map[string]int, meta map[string]string, resolve Resolve) (Step, error) {
	field := func(f string) string { return fmt.Sprintf("steps[%d].%s", i, f) }
	switch {
	case !api.ValidID(r.ID):
		return Step{}, api.Invalid(field("id"), "must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or digit", api.MaxIDLen)
	case !cleanText(r.Name) || len(r.Name) > api.MaxDescription:
		return Step{}, api.Invalid(field("name"), "must be UTF-8 text without NUL bytes, at most %d bytes", api.MaxDescription)
	case r.Module == "":
		return Step{}, api.Invalid(field("module"), "a module is required: sha256:HEX of an uploaded module, or a module's name")
	case len(r.Args) > api.MaxArgs:
		return Step{}, api.Invalid(field("args"), "more than %d arguments", api.MaxArgs)
	case len(r.Env)+len(meta) > api.MaxEnv:
		return Step{}, api.Invalid(field("env"), "more than %d entries with the metadata", api.MaxEnv)
	case len(r.Stdin) > api.MaxStepStdin:
		return Step{}, api.Invalid(field("stdin"), "longer than %d bytes", api.MaxStepStdin)
	case r.Memory > api.MaxStepMemory:
		return Step{}, api.Invalid(field("memory"), "more than a wasm32 module's %s", api.FormatBytes(api.MaxStepMemory))
	}
	for _, a := range r.Args {
		if strings.ContainsRune(a, 0) {
			return Step{}, api.Invalid(field("args"), "%q contains a NUL byte", a)
		}
		if len(a) > api.MaxField {
			return Step{}, api.Invalid(field("args"), "an argument longer than %d bytes", api.MaxField)
		}
	}
	if err := checkEnv(field("env"), r.Env); err != nil {
		return Step{}, err
	}
	hash, err := resolve(r.Module)
	if err != nil {
		return Step{}, api.Invalid(field("module"), "%v", err)
	}
	st := Step{
		ID: r.ID, Name: r.Name, Module: hash, Args: r.Args, Stdin: []byte(r.Stdin),
		Timeout: time.Duration(r.Timeout), Memory: uint64(r.Memory), Fuel: r.Fuel,
		ContinueOnError: r.ContinueOnError,
		Env:             envList(meta, r.Env),
	}
	if len(st.Stdin) == 0 {
		st.Stdin = nil
	}
	switch {
	case r.Needs == nil && i > 0:
		st.Needs = []int{i - 1}
	default:
		for _, n := range r.Needs {
			k, ok := ids[n]
			switch {
			case !ok:
				return Step{}, api.Invalid(field("needs"), "%q is not the id of a step of this job", n)
			case k == i:
				return Step{}, api.Invalid(field("needs"), "a step cannot need itself")
			case slices.Contains(st.Needs, k):
				return Step{}, api.Invalid(field("needs"), "%q given twice", n)
			}
			st.Needs = append(st.Needs, k)
		}
	}
	return st, nil
}

// envList is meta then env as K=V entries, each sorted by key, so that a
// step's own entry comes last and wins.
func envList(meta, env map[string]string) []string {
	var out []string
	for _, m := range []map[string]string{meta, env} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, k+"="+m[k])
		}
	}
	return out
}

func checkEnv(field string, env map[string]string) error {
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return api.Invalid(field, "%q: a name is not empty and has no '=' or NUL, a value no NUL", k)
		}
		if len(k)+len(v) > api.MaxField {
			return api.Invalid(field, "%q: longer than %d bytes with its value", k, api.MaxField)
		}
	}
	return nil
}

// Bytes estimates what s takes in the store: its steps as they travel,
// and their ids, names and modules.
func (s *Spec) Bytes() int {
	n := len(s.Name) + len(s.CallbackURL)
	for k, v := range s.Metadata {
		n += len(k) + len(v)
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		n += 100 + len(st.ID) + len(st.Name) + len(st.Module) + st.size()
	}
	return n
}

// size is what the step carries to its worker besides its module.
func (st *Step) size() int {
	n := len(st.Stdin)
	for _, x := range st.Args {
		n += len(x)
	}
	for _, x := range st.Env {
		n += len(x)
	}
	return n
}

func checkCallback(u string) error {
	if u == "" {
		return nil
	}
	if len(u) > api.MaxCallbackURL {
		return api.Invalid("callback_url", "longer than %d bytes", api.MaxCallbackURL)
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return api.Invalid("callback_url", "%q: an http:// or https:// URL", u)
	}
	return nil
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// cycle returns the indexes of the steps on a cycle of needs, or nil.
func cycle(steps []Step) []int {
	const (
		unseen = iota
		open
		closed
	)
	state := make([]int, len(steps))
	var path []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = open
		path = append(path, i)
		for _, n := range steps[i].Needs {
			switch state[n] {
			case open:
				at := slices.Index(path, n)
				return append(slices.Clone(path[at:]), n)
			case unseen:
				if c := visit(n); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = closed
		return nil
	}
	for i := range steps {
		if state[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// Cyclic reports whether the steps' needs make a cycle: a job the worker
// could never finish.
func (s *Spec) Cyclic() bool { return cycle(s.Steps) != nil }

// Trimmed is s without what only its runs need (each step's arguments,
// environment and stdin), for a job that has ended: the store keeps the
// whole spec. A nil s is nil.
func (s *Spec) Trimmed() *Spec {
	if s == nil {
		return nil
	}
	t := *s
	t.Steps = make([]Step, len(s.Steps))
	for i, st := range s.Steps {
		st.Args, st.Env, st.Stdin = nil, nil, nil
		t.Steps[i] = st
	}
	return &t
}
