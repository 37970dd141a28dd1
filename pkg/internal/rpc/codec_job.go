package rpc

import (
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// maxSteps bounds the steps of a JobSpec a peer sends.
const maxSteps = api.MaxSteps

// EncodeJobRun writes r into dst, the wire's JobSpec.
func EncodeJobRun(dst wire.JobSpec, r task.JobRun) error {
	if r.Timeout < 0 {
		return malformed("jobSpec", "timeout", "%v is negative", r.Timeout)
	}
	if err := EncodeRunRef(dst, r.Ref); err != nil {
		return err
	}
	dst.SetTimeoutMs(uint64(r.Timeout.Milliseconds()))
	dst.SetReserve(r.Reserve)
	dst.SetMaxFiles(r.MaxFiles)
	l, err := dst.NewSteps(int32(len(r.Steps)))
	if err != nil {
		return err
	}
	for i, st := range r.Steps {
		w := l.At(i)
		if err := w.SetId(st.ID); err != nil {
			return err
		}
		w.SetContinueOnError(st.ContinueOnError)
		needs, err := w.NewNeeds(int32(len(st.Needs)))
		if err != nil {
			return err
		}
		for k, n := range st.Needs {
			v, err := toUint32("stepSpec", "needs", n)
			if err != nil {
				return err
			}
			needs.Set(k, v)
		}
		spec, err := w.NewSpec()
		if err != nil {
			return err
		}
		if err := EncodeRunSpec(spec, st.Spec); err != nil {
			return err
		}
	}
	return nil
}

// DecodeJobRun reads a JobSpec a peer sent. Besides DecodeRunSpec's checks
// of each step, it fails on more than api.MaxSteps steps, a need that is
// no step or the step itself, and a cycle of needs (ErrMalformed).
func DecodeJobRun(src wire.JobSpec) (task.JobRun, error) {
	var r task.JobRun
	var err error
	if r.Ref, err = DecodeRunRef(src); err != nil {
		return task.JobRun{}, err
	}
	if src.TimeoutMs() > maxTimeoutMs {
		return task.JobRun{}, malformed("jobSpec", "timeoutMs", "%d over %d", src.TimeoutMs(), maxTimeoutMs)
	}
	r.Timeout = time.Duration(src.TimeoutMs()) * time.Millisecond
	r.Reserve, r.MaxFiles = src.Reserve(), src.MaxFiles()
	l, err := src.Steps()
	if err != nil {
		return task.JobRun{}, err
	}
	if l.Len() == 0 || l.Len() > maxSteps {
		return task.JobRun{}, malformed("jobSpec", "steps", "%d steps, not 1 to %d", l.Len(), maxSteps)
	}
	r.Steps = make([]task.StepRun, l.Len())
	for i := range r.Steps {
		w := l.At(i)
		st := &r.Steps[i]
		if st.ID, err = w.Id(); err != nil {
			return task.JobRun{}, err
		}
		st.ContinueOnError = w.ContinueOnError()
		needs, err := w.Needs()
		if err != nil {
			return task.JobRun{}, err
		}
		for k := range needs.Len() {
			n := int(needs.At(k))
			if n >= l.Len() || n == i {
				return task.JobRun{}, malformed("stepSpec", "needs", "step %d needs %d of %d steps", i, n, l.Len())
			}
			st.Needs = append(st.Needs, n)
		}
		spec, err := w.Spec()
		if err != nil {
			return task.JobRun{}, err
		}
		if st.Spec, err = DecodeRunSpec(spec); err != nil {
			return task.JobRun{}, err
		}
	}
	if r.Plan().Cyclic() {
		return task.JobRun{}, malformed("jobSpec", "steps", "their needs make a cycle")
	}
	return r, nil
}

// EncodeJobEnd writes how a job's attempt ended into dst.
func EncodeJobEnd(dst wire.JobResult, e task.JobEnd) error {
	if err := dst.SetStatus(string(e.Status)); err != nil {
		return err
	}
	dst.SetFailedStep(int32(e.FailedStep))
	dst.SetFiles(uint32(max(0, e.Files)))
	dst.SetFilesLeft(uint32(max(0, e.FilesLeft)))
	return dst.SetError(e.Error)
}

// DecodeJobEnd reads how a job's attempt ended; a status that is not a
// job's final one is malformed.
func DecodeJobEnd(src wire.JobResult) (task.JobEnd, error) {
	st, err := src.Status()
	if err != nil {
		return task.JobEnd{}, err
	}
	e := task.JobEnd{Status: api.Status(st), FailedStep: int(src.FailedStep()), Files: int(src.Files()), FilesLeft: int(src.FilesLeft())}
	switch e.Status {
	case api.Succeeded, api.Failed, api.Canceled:
	default:
		return task.JobEnd{}, malformed("jobResult", "status", "%q is not a job's end", st)
	}
	if e.Error, err = src.Error(); err != nil {
		return task.JobEnd{}, err
	}
	return e, nil
}
