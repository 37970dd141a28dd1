package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// WindowQuery asks for part of what the store holds of task ID: the
// records of its runs From to To-1 that exist, its spec when Spec, and
// its result.
type WindowQuery struct {
	ID       string
	From, To int
	Spec     bool
	// ResultMax bounds the bytes of each result in the answer; 0 is
	// no bound. A clipped result keeps its size in ResultBytes.
	ResultMax int
}

// Window is the answer to a WindowQuery.
type Window struct {
	// Missing: the store does not hold the task (it was purged since the
	// caller looked).
	Missing bool
	Spec    *task.Spec // when asked for
	Runs    []task.Run // the stored runs of the range, by index
	// Result is the task's result: that of its last run to succeed, if
	// any; ResultBytes its whole size when Result was clipped.
	Result      string
	ResultBytes int
}

// Windows answers every query in one read transaction. A task the store
// does not hold (purged meanwhile) gets a Window that says Missing.
func (s *Store) Windows(qs []WindowQuery) ([]Window, error) {
	out := make([]Window, len(qs))
	err := s.view(func(tx *bolt.Tx) error {
		tasks, runs := tx.Bucket(bucketTasks), tx.Bucket(bucketRuns)
		for i, q := range qs {
			w := &out[i]
			seq, err := taskSeq(tx, q.ID)
			if errors.Is(err, ErrNotFound) {
				w.Missing = true
				continue
			}
			if err != nil {
				return fmt.Errorf("task %s: %w", q.ID, err)
			}
			if q.Spec {
				rec, err := decodeTask(tasks.Get(u64(seq)))
				if err != nil {
					return fmt.Errorf("task %s: %w", q.ID, err)
				}
				w.Spec = &rec.Spec
			}
			if q.To > q.From {
				c := runs.Cursor()
				prefix := u64(seq)
				for k, v := c.Seek(runKey(seq, uint32(max(q.From, 0)))); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
					index := beUint32(k[8:])
					if int(index) >= q.To {
						break
					}
					r, err := decodeRun(v, index)
					if err != nil {
						return fmt.Errorf("task %s: %w", q.ID, err)
					}
					r.Result, r.ResultBytes = clip(r.Result, r.ResultBytes, q.ResultMax)
					w.Runs = append(w.Runs, r)
				}
			}
			if err := readResult(tx, seq, w, q.ResultMax); err != nil {
				return fmt.Errorf("task %s: %w", q.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readResult reads the task's result: its marked run's (see results.go).
func readResult(tx *bolt.Tx, seq uint64, w *Window, limit int) error {
	m, ok := getMark(tx, seq)
	if !ok {
		return nil
	}
	v := tx.Bucket(bucketRuns).Get(runKey(seq, m.index))
	if v == nil {
		return nil
	}
	r, err := decodeRun(v, m.index)
	if err != nil {
		return err
	}
	w.Result, w.ResultBytes = clip(r.Result, r.ResultBytes, limit)
	return nil
}

// clip cuts result to limit bytes (0: no limit), at a character's start,
// and returns the whole size when the result is not all there.
func clip(result string, size, limit int) (string, int) {
	if limit <= 0 || len(result) <= limit {
		return result, size
	}
	n := limit
	for n > 0 && n < len(result) && result[n]&0xC0 == 0x80 {
		n--
	}
	return result[:n], len(result)
}
