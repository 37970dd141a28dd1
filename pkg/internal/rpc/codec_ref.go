package rpc

import "github.com/shoalmesh/shoal/pkg/internal/task"

// RunRefSetter is a wire struct that names a run attempt: a RunSpec, or
// the parameters of LogSink.write.
type RunRefSetter interface {
	SetTaskId(string) error
	SetRun(uint32)
	SetAttempt(uint32)
}

// RunRefGetter reads what a RunRefSetter set.
type RunRefGetter interface {
	TaskId() (string, error)
	Run() uint32
	Attempt() uint32
}

// EncodeRunRef names run attempt r in dst.
func EncodeRunRef(dst RunRefSetter, r task.RunRef) error {
	run, err := toUint32("runRef", "run", r.Index)
	if err != nil {
		return err
	}
	attempt, err := toUint32("runRef", "attempt", r.Attempt)
	if err != nil {
		return err
	}
	dst.SetRun(run)
	dst.SetAttempt(attempt)
	return dst.SetTaskId(r.Task)
}

// DecodeRunRef reads the run attempt src names.
func DecodeRunRef(src RunRefGetter) (task.RunRef, error) {
	id, err := src.TaskId()
	if err != nil {
		return task.RunRef{}, err
	}
	return task.RunRef{Task: id, Index: int(src.Run()), Attempt: int(src.Attempt())}, nil
}
