package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/job"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// A job is, to the scheduler and the store, a task of one run whose run
// is the whole job (task.Spec.Job): it is queued, placed, retried when its
// worker is lost, canceled and purged like one. What only a job has is
// here: its steps' states (jobState, in memory and in the store's steps
// records), its artifacts (the store's files), its callbacks.

// jobState is what the gateway holds of a job under way besides its task.
type jobState struct {
	attempt int // of its run that steps belongs to
	// steps are the attempt's steps by index, as the worker told them;
	// they are stored when the attempt ends (saveSteps).
	steps       map[int]store.StepRecord
	callbackURL string
	told        api.Status // the last status given to the callback
}

// maxCallbacks bounds the delivery attempts a job shows.
const maxCallbacks = 64

var moduleNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidModuleName reports whether name can name a module: lowercase
// letters, digits, '.', '_' and '-', starting with a letter or digit, at
// most api.MaxModuleName bytes, and not like a hash.
func ValidModuleName(name string) bool {
	return len(name) <= api.MaxModuleName && moduleNamePattern.MatchString(name) && !strings.HasPrefix(name, "sha256")
}

// NameModule gives the stored module with sha256 hash the name name (PUT
// /modules?name=), for owner (who submits with the API's token; ""
// without tokens); the name moves from any module it named before, unless
// another owner gave it and admin is false: a name one owner's jobs rely
// on is not another's to move.
func (g *Gateway) NameModule(name, hash, owner string, admin bool) error {
	if !ValidModuleName(name) {
		return api.Invalid("name", "%q: a name is 1-%d of a-z, 0-9, '.', '_' and '-', starting with a letter or digit, not starting with sha256", name, api.MaxModuleName)
	}
	err := g.st.NameModule(name, hash, owner, admin)
	if taken, ok := errors.AsType[*store.NameTakenError](err); ok {
		return &api.Error{Code: api.CodeConflict, Field: "name", Message: fmt.Sprintf("name: %s was given by %s, and only they (or an admin) may move it; choose another name", taken.Name, taken.Owner)}
	}
	if err != nil {
		return storeErr(err)
	}
	if slices.Contains(g.cfg.Scale.Warm, name) { // a deploy: warm the machines with it
		g.mu.Lock()
		g.scaling.rewarm = true
		g.mu.Unlock()
		select {
		case g.scaling.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// ModuleNames lists the names given to modules, with their hashes.
func (g *Gateway) ModuleNames() (map[string]string, error) { return g.st.ModuleNames() }

// ResolveModule returns the sha256 of the module that ref names:
// "sha256:HEX" of a stored module, or a name given with NameModule.
func (g *Gateway) ResolveModule(ref string) (string, error) {
	if h, ok := strings.CutPrefix(ref, "sha256:"); ok {
		if !g.st.HasModule(h) {
			return "", fmt.Errorf("no module %s: upload it first (PUT /modules)", ref)
		}
		return h, nil
	}
	if !ValidModuleName(ref) {
		return "", fmt.Errorf("%q is neither sha256:HEX nor a module's name", ref)
	}
	h, err := g.st.ModuleNamed(ref)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no module is named %q: name one with PUT /modules?name=%s", ref, ref)
	}
	return h, err
}

// SubmitJob checks r, records the job durably and queues it; owner is who
// submits it (as a task's Owner). Its errors name the bad field like
// "steps[2].module".
func (g *Gateway) SubmitJob(r api.JobRequest, owner string) (api.Job, error) {
	js, err := job.New(r, g.ResolveModule)
	if err != nil {
		return api.Job{}, err
	}
	spec := task.Spec{
		ID: r.ID, Description: r.Name, Module: js.Steps[0].Module,
		Priority: r.Priority, Labels: r.Labels, Retries: r.Retries, Owner: owner,
		Memory: js.Reserve(), Job: &js,
	}
	// The run's time limit is the job's: given, or its steps' together.
	spec.Duration = js.Timeout
	if spec.Duration == 0 {
		for _, st := range js.Steps {
			spec.Duration += cmp(st.Timeout, g.cfg.TaskTimeout)
		}
		spec.Duration = min(spec.Duration, api.MaxSeconds*time.Second)
	}
	if spec.ID == "" {
		spec.ID = newJobID()
	}
	specs := []task.Spec{spec}
	ids, _, err := g.prepare(specs, false)
	if err != nil {
		return api.Job{}, err
	}
	if _, _, err := g.admit(specs, ids); err != nil {
		return api.Job{}, err
	}
	return g.Job(specs[0].ID)
}

// cmp is d, or def when d is 0.
func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Job returns the job with that id.
func (g *Gateway) Job(id string) (api.Job, error) { return readJob(g, id) }

// JobPage reads one page of the job list, as TaskPage does for tasks.
func (g *Gateway) JobPage(q sched.PageQuery) (page []api.Job, next, rev uint64, err error) {
	return readJobPage(g, q)
}

// jobReader is what views of jobs are read from: a gateway, or a store
// alone (Stored).
type jobReader interface {
	TaskRuns(id string, n int) (task.Task, uint64, error)
	TaskPage(q sched.PageQuery, runs int) (page []task.Task, next, rev uint64, err error)
	jobView(t task.Task, files bool) (api.Job, error)
}

// readJob reads job id from r.
func readJob(r jobReader, id string) (api.Job, error) {
	t, _, err := r.TaskRuns(id, -1)
	if err != nil {
		return api.Job{}, err
	}
	if t.Spec.Job == nil {
		return api.Job{}, fmt.Errorf("%w: %s is a task, not a job", sched.ErrNotFound, id)
	}
	return r.jobView(t, true)
}

// readJobPage reads one page of the job list from r.
func readJobPage(r jobReader, q sched.PageQuery) (page []api.Job, next, rev uint64, err error) {
	q.Jobs = true
	ts, next, rev, err := r.TaskPage(q, 1)
	if err != nil {
		return nil, 0, 0, err
	}
	page = make([]api.Job, 0, len(ts))
	for _, t := range ts {
		j, err := r.jobView(t, false)
		if err != nil {
			return nil, 0, 0, err
		}
		page = append(page, j)
	}
	return page, next, rev, nil
}

// WaitJob returns job id once it has ended, or as it is when ctx ends.
func (g *Gateway) WaitJob(ctx context.Context, id string) (api.Job, error) {
	t, err := g.WaitRuns(ctx, id, 1)
	if err != nil {
		return api.Job{}, err
	}
	if t.Spec.Job == nil {
		return api.Job{}, fmt.Errorf("%w: %s is a task, not a job", sched.ErrNotFound, id)
	}
	return g.jobView(t, true)
}

// CancelJob cancels job id: its running step ends, no other starts.
func (g *Gateway) CancelJob(id string) (api.Job, error) {
	if _, err := g.Job(id); err != nil {
		return api.Job{}, err
	}
	if err := g.cancel(id); err != nil {
		return api.Job{}, err
	}
	return g.Job(id)
}

// Files lists the artifacts of job or task id: what the job, or the
// task's run that ended last (task.Spec.Shared), left in /shared.
func (g *Gateway) Files(id string) ([]api.File, error) {
	if _, err := g.Status(id); err != nil {
		return nil, err
	}
	return g.st.Files(id)
}

// File returns the artifact at path of job or task id, with its bytes.
func (g *Gateway) File(id, path string) (api.File, []byte, error) {
	if _, err := g.Status(id); err != nil {
		return api.File{}, nil, err
	}
	return fileOf(g.st, id, path)
}

// fileOf reads the artifact at path of job or task id from st.
func fileOf(st *store.Store, id, path string) (api.File, []byte, error) {
	f, b, err := st.File(id, path)
	if errors.Is(err, store.ErrNotFound) {
		return api.File{}, nil, api.Errorf(api.CodeNotFound, "%s has no file %s", id, path)
	}
	return f, b, err
}

// jobView is t, a job, as the API shows it; with files, with its
// artifacts (a page of jobs leaves them out: GET /jobs/{id}/files).
func (g *Gateway) jobView(t task.Task, files bool) (api.Job, error) {
	steps, callbacks, err := g.jobSteps(t.Spec.ID)
	if err != nil {
		return api.Job{}, err
	}
	return jobViewOf(g.st, g.cfg.TaskTimeout, t, steps, callbacks, files)
}

// jobViewOf is jobView with the job's step records and callback
// attempts given, and its artifacts read from db; timeout is the time
// limit of a step that sets none.
func jobViewOf(db *store.Store, timeout time.Duration, t task.Task, steps map[int]store.StepRecord, callbacks []api.Callback, files bool) (api.Job, error) {
	js := t.Spec.Job // whole: compose reads a trimmed spec from the store
	j := api.Job{
		ID: t.Spec.ID, Name: js.Name, Status: t.Status, Metadata: js.Metadata,
		TimeoutSeconds: t.Spec.Duration.Seconds(), Priority: t.Spec.Priority, CallbackURL: js.CallbackURL,
		Labels: t.Spec.Labels, Owner: t.Spec.Owner, Created: t.Created,
	}
	var run task.Run
	if n := len(t.Runs); n > 0 {
		run = t.Runs[n-1]
		j.Attempt, j.Worker, j.Started, j.Ended, j.Error = run.Attempt, run.Worker, run.Started, run.Ended, run.Error
	}
	j.Callbacks = callbacks
	j.Steps = make([]api.Step, len(js.Steps))
	for i, st := range js.Steps {
		v := api.Step{
			ID: st.ID, Name: st.Name, Module: st.Module, Args: st.Args, Needs: make([]string, len(st.Needs)),
			ContinueOnError: st.ContinueOnError, Timeout: cmp(st.Timeout, timeout).Seconds(),
			Memory: st.Memory, Fuel: st.Fuel, Status: api.Queued,
		}
		for k, n := range st.Needs {
			v.Needs[k] = js.Steps[n].ID
		}
		if r, ok := steps[i]; ok && r.Attempt == run.Attempt {
			v.Status, v.Started, v.Ended, v.ExitCode, v.Error, v.FuelUsed = r.Status, r.Started, r.Ended, r.ExitCode, r.Error, r.Fuel
		}
		if t.Status.Done() && !v.Status.Done() && v.Status != api.Skipped {
			// Ended without word of the step: the job was canceled, or
			// ended before it (a step's end told over a dropped call).
			v.Status = api.Skipped
			if t.Status == api.Canceled {
				v.Status = api.Canceled
			}
		}
		j.Steps[i] = v
	}
	if t.Status.Done() && files {
		var err error
		if j.Files, err = db.Files(t.Spec.ID); err != nil {
			return api.Job{}, err
		}
	}
	return j, nil
}

// jobSteps returns the step records of job id, from memory while it runs,
// else from the store, and its callback attempts.
func (g *Gateway) jobSteps(id string) (map[int]store.StepRecord, []api.Callback, error) {
	var steps map[int]store.StepRecord
	g.mu.Lock()
	if js, ok := g.jobs[id]; ok && js.steps != nil { // an attempt under way: memory has it all
		steps = maps.Clone(js.steps)
	}
	g.mu.Unlock()
	var err error
	if steps == nil {
		if steps, err = g.st.Steps(id); err != nil {
			return nil, nil, err
		}
	}
	cbs, err := g.st.Callbacks(id)
	return steps, cbs, err
}
