package task

import (
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/job"
)

// JobRun is what one attempt of a job needs on its worker: its steps as
// runs, the graph of their needs, and the job's limits. Like RunSpec it is
// the one shape of a job from the gateway to the worker: the gateway
// builds it with Spec.JobRun, the wire carries it (pkg/internal/rpc,
// codec_job.go), and the worker runs it.
type JobRun struct {
	Ref      RunRef
	Timeout  time.Duration // of the whole job
	Reserve  uint64        // bytes of memory the job was placed with (job.Spec.Reserve)
	MaxFiles uint64        // bytes of artifacts sent back at most
	Steps    []StepRun
}

// StepRun is one step of a JobRun: its run, with Ref the job's attempt.
type StepRun struct {
	ID              string
	Spec            RunSpec
	Needs           []int // indexes in JobRun.Steps
	ContinueOnError bool
}

// JobEnd is how a job's attempt ended on its worker.
type JobEnd struct {
	Status     api.Status // succeeded, failed or canceled
	FailedStep int        // the step that failed the job; -1 for none
	Error      string
	// Files counts the artifacts sent, FilesLeft those left out.
	Files, FilesLeft int
}

// Plan is the job's graph of steps as package job decides on it.
func (r *JobRun) Plan() *job.Spec {
	s := &job.Spec{Timeout: r.Timeout, Steps: make([]job.Step, len(r.Steps))}
	for i, st := range r.Steps {
		s.Steps[i] = job.Step{ID: st.ID, Module: st.Spec.Module, Memory: st.Spec.Memory, Needs: st.Needs, ContinueOnError: st.ContinueOnError}
	}
	return s
}

// JobRun is what attempt ref of job s needs on its worker. Zero step
// timeouts become stepTimeout and a zero job timeout the sum of the
// steps'; MaxOutput of each step is maxOutput.
func (s *Spec) JobRun(ref RunRef, stepTimeout time.Duration, maxOutput int, maxFiles uint64) JobRun {
	j := s.Job
	r := JobRun{Ref: ref, Timeout: j.Timeout, Reserve: s.Memory, MaxFiles: maxFiles, Steps: make([]StepRun, len(j.Steps))}
	var sum time.Duration
	for i, st := range j.Steps {
		t := st.Timeout
		if t == 0 {
			t = stepTimeout
		}
		sum += t
		r.Steps[i] = StepRun{
			ID: st.ID, Needs: st.Needs, ContinueOnError: st.ContinueOnError,
			Spec: RunSpec{
				Ref: ref, Module: st.Module, Args: st.Args, Env: st.Env, Stdin: st.Stdin,
				Timeout: t, Memory: st.Memory, MaxOutput: maxOutput, Fuel: st.Fuel,
			},
		}
	}
	if r.Timeout == 0 {
		r.Timeout = min(sum, MaxSeconds*time.Second)
	}
	return r
}
