package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// appendFill is the fill percent of buckets whose keys grow at the end
// (new tasks get higher sequences), so their pages are not left half empty.
const appendFill = 0.9

// CreateTask stores t's spec, creation time and all its runs in one
// transaction, durable when it returns. It fails with ErrExists if a task
// with that id was created before. t.Status, Completions and Result are not
// stored: they are derived from the runs when the task is loaded.
func (s *Store) CreateTask(t task.Task) error {
	return s.CreateTasks([]task.Task{t})
}

// TakenError is CreateTasks' error for an id that is taken; it is
// ErrExists.
type TakenError struct{ ID string }

func (e *TakenError) Error() string        { return "create task " + e.ID + ": " + ErrExists.Error() }
func (e *TakenError) Is(target error) bool { return target == ErrExists }

// CreateTasks stores every task of ts as CreateTask does, all in one
// transaction: all are durable when it returns, or none is stored. It fails
// with a *TakenError, naming the id, if any id was taken before or appears
// twice in ts.
func (s *Store) CreateTasks(ts []task.Task) error {
	all := make([]createdTask, len(ts))
	for i, t := range ts {
		id := t.Spec.ID
		if id == "" {
			return errors.New("create task: the id is empty")
		}
		runs, err := newRuns(t.Runs)
		if err != nil {
			return fmt.Errorf("create task %s: %w", id, err)
		}
		all[i] = createdTask{id, encodeTask(&taskRecord{Spec: t.Spec, Created: t.Created}), runs}
	}
	cmd := &createTasksCmd{Tasks: all, Keep: s.keep}
	err := s.commit.do(cmd)
	failed := cmd.failed
	switch {
	case err == nil:
		return nil
	case failed != "" && errors.Is(err, ErrExists):
		return &TakenError{ID: failed}
	case len(all) == 1:
		return fmt.Errorf("create task %s: %w", all[0].ID, err)
	}
	return fmt.Errorf("create %d tasks: %w", len(all), err)
}

// SaveRuns stores runs (new or changed) of task id, by their Index, and
// returns when they are durable. It never rewrites the task or its other
// runs. Concurrent calls share one commit, so call it from the goroutine
// that learned the outcome rather than funnelling calls through one
// goroutine: a single caller waits for one commit (fsync) per call, about
// 0.4 ms on the reference machine.
func (s *Store) SaveRuns(id string, runs ...task.Run) error {
	if len(runs) == 0 {
		return nil
	}
	enc, err := newRuns(runs)
	if err != nil {
		return fmt.Errorf("save runs of task %s: %w", id, err)
	}
	err = s.commit.do(&saveRunsCmd{ID: id, Runs: enc, Keep: s.keep})
	if err != nil {
		return fmt.Errorf("save runs of task %s: %w", id, err)
	}
	return nil
}

// CancelTask marks task id canceled at the given time and stores runs, in
// one transaction. Canceling again keeps the first time and stores runs.
func (s *Store) CancelTask(id string, at time.Time, runs []task.Run) error {
	enc, err := newRuns(runs)
	if err != nil {
		return fmt.Errorf("cancel task %s: %w", id, err)
	}
	err = s.commit.do(&cancelTaskCmd{ID: id, At: at, Runs: enc, Keep: s.keep})
	if err != nil {
		return fmt.Errorf("cancel task %s: %w", id, err)
	}
	return nil
}

// taskSeq finds the sequence of task id, or ErrNotFound.
func taskSeq(tx *bolt.Tx, id string) (uint64, error) {
	v := tx.Bucket(bucketIDs).Get([]byte(id))
	if len(v) != 8 {
		return 0, ErrNotFound
	}
	return beUint64(v), nil
}

type encodedRun struct {
	index     uint32
	value     []byte
	attempt   int
	done      bool
	succeeded bool
	ended     int64 // Unix nanoseconds
}

// encodeRuns encodes outside the transaction, which is shared and single.
func encodeRuns(runs []task.Run) ([]encodedRun, error) {
	out := make([]encodedRun, len(runs))
	for i := range runs {
		idx := runs[i].Index
		if idx < 0 || idx > math.MaxUint32 {
			return nil, fmt.Errorf("run index %d out of range", idx)
		}
		out[i] = encodedRun{
			index: uint32(idx), value: encodeRun(&runs[i]), attempt: runs[i].Attempt, done: runs[i].Status.Done(),
			succeeded: runs[i].Status == task.Succeeded, ended: runs[i].Ended.UnixNano(),
		}
	}
	return out, nil
}

func putRuns(tx *bolt.Tx, seq uint64, runs []encodedRun, keep int) error {
	b := tx.Bucket(bucketRuns)
	b.FillPercent = appendFill
	added := 0
	for _, r := range runs {
		k := runKey(seq, r.index)
		old := b.Get(k)
		if old == nil {
			added++
		} else if stale, err := older(old, r); err != nil || stale {
			if err != nil {
				return fmt.Errorf("run %d: %w", r.index, err)
			}
			continue
		}
		if err := b.Put(k, r.value); err != nil {
			return fmt.Errorf("put run %d: %w", r.index, err)
		}
		if r.done {
			if err := keepResults(tx, seq, r, keep); err != nil {
				return err
			}
		}
	}
	return addCounter(tx.Bucket(bucketMeta), counterRuns, int64(added))
}

// older reports whether r is older than the stored run record old, and must
// not replace it. Saves of one run may commit out of order (their callers
// race to the group commit), but a run only moves forward: to its final
// state, or to a later attempt. So a record replaces another only if it is
// a later attempt, or the same attempt and not a step back from final.
func older(old []byte, r encodedRun) (bool, error) {
	prev, err := decodeRun(old, r.index)
	if err != nil {
		return false, err
	}
	if r.attempt != prev.Attempt {
		return r.attempt < prev.Attempt, nil
	}
	return prev.Status.Done() && !r.done, nil
}

// LoadTasks calls fn with every task in creation order, with all its runs
// by index and its status, completions and result derived from them. It
// stops at fn's first error and returns it. fn runs inside a read
// transaction: it must not call the Store's write methods (a commit that
// grows the file waits for the read to end).
func (s *Store) LoadTasks(fn func(task.Task) error) error {
	return eachTask(s, loadTask, fn)
}

// eachTask calls fn with every task in creation order, as load reads it
// (from the runs cursor, the task's key and record), inside one read
// transaction; it stops at fn's first error and returns it. A panic of
// bbolt on a damaged page, or a memory fault past a truncated file's end,
// is ErrCorrupt; a panic of fn's own is not caught.
func eachTask[T any](s *Store, load func(runs *bolt.Cursor, k, v []byte) (T, error), fn func(T) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	inFn := false
	defer func() {
		if r := recover(); r != nil {
			if inFn { // fn's own panic, not a damaged file
				panic(r)
			}
			err = fmt.Errorf("load tasks: %w: %v", ErrCorrupt, r)
		}
	}()
	var fnErr error
	err = s.db.View(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns).Cursor()
		c := tx.Bucket(bucketTasks).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			t, err := load(runs, k, v)
			if err != nil {
				return err
			}
			inFn = true
			fnErr = fn(t)
			inFn = false
			if fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("load tasks: %w", err)
	}
	return nil
}

// Task returns task id as LoadTasks would, or ErrNotFound.
func (s *Store) Task(id string) (task.Task, error) { return oneTask(s, id, loadTask) }

// oneTask reads task id as load reads it (see eachTask), or ErrNotFound.
func oneTask[T any](s *Store, id string, load func(runs *bolt.Cursor, k, v []byte) (T, error)) (T, error) {
	var t T
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		k := u64(seq)
		t, err = load(tx.Bucket(bucketRuns).Cursor(), k, tx.Bucket(bucketTasks).Get(k))
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

// loadTask decodes the task stored under key seqKey with value v, and its
// runs, found with the runs cursor.
func loadTask(runs *bolt.Cursor, seqKey, v []byte) (task.Task, error) {
	rec, err := decodeTask(v)
	if err != nil {
		return task.Task{}, fmt.Errorf("task #%d: %w", beUint64(seqKey), err)
	}
	t := task.Task{Spec: rec.Spec, Created: rec.Created, Completions: rec.Spec.Complete}
	for k, v := runs.Seek(seqKey); k != nil && bytes.HasPrefix(k, seqKey); k, v = runs.Next() {
		if len(k) != 12 {
			return t, fmt.Errorf("task %s: %w: run key %x", rec.Spec.ID, ErrCorrupt, k)
		}
		r, err := decodeRun(v, beUint32(k[8:]))
		if err != nil {
			return t, fmt.Errorf("task %s: %w", rec.Spec.ID, err)
		}
		t.Runs = append(t.Runs, r)
	}
	var lastEnd time.Time
	found := false
	for _, r := range t.Runs {
		if r.Status != task.Succeeded {
			continue
		}
		t.Completions++
		if !found || !r.Ended.Before(lastEnd) {
			t.Result, lastEnd, found = r.Result, r.Ended, true
		}
	}
	if rec.Canceled {
		t.Status = task.Canceled
	} else {
		t.Refresh()
	}
	return t, nil
}
