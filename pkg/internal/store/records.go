package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// LoadRecords calls fn with every task in creation order as a
// task.Record: its spec and state, with its runs counted rather than
// kept, so that loading a store takes memory in the number of tasks, not
// in their runs or results. It stops at fn's first error and returns it.
// fn runs inside a read transaction: it must not call the Store's write
// methods.
func (s *Store) LoadRecords(fn func(task.Record) error) error {
	return eachTask(s, loadRecord, fn)
}

// loadRecord reads the task under seqKey (value v) and counts its runs.
func loadRecord(runs *bolt.Cursor, seqKey, v []byte) (task.Record, error) {
	tr, err := decodeTask(v)
	if err != nil {
		return task.Record{}, fmt.Errorf("task #%d: %w", beUint64(seqKey), err)
	}
	rec := task.Record{Spec: tr.Spec, Created: tr.Created, Canceled: tr.Canceled, CanceledAt: tr.CanceledAt, Bytes: int64(len(v))}
	var open []task.Run // runs not ended, of any index, in index order
	for k, v := runs.Seek(seqKey); k != nil && bytes.HasPrefix(k, seqKey); k, v = runs.Next() {
		if len(k) != 12 {
			return rec, fmt.Errorf("task %s: %w: run key %x", tr.Spec.ID, ErrCorrupt, k)
		}
		r, err := decodeRun(v, beUint32(k[8:]))
		if err != nil {
			return rec, fmt.Errorf("task %s: %w", tr.Spec.ID, err)
		}
		rec.Bytes += int64(len(v))
		if !r.Status.Done() {
			// A record written before runs were made lazily: the run
			// had not ended. Only its attempt and due time count.
			open = append(open, task.Run{Index: r.Index, Attempt: r.Attempt, Due: r.Due})
			continue
		}
		// Every run below this one that has no record had not ended.
		for i := rec.Made; i < r.Index; i++ {
			open = append(open, task.Run{Index: i, Due: tr.Spec.Due(tr.Created, i)})
		}
		rec.Made = max(rec.Made, r.Index+1)
		switch r.Status {
		case task.Succeeded:
			rec.Succeeded++
		case task.Failed:
			rec.Failed++
		}
		if r.Ended.After(rec.Ended) {
			rec.Ended = r.Ended
		}
	}
	// Open runs from records (older stores) come before the holes found
	// after them; keep those below Made, each index once, in order.
	seen := make(map[int]bool, len(open))
	for _, o := range open {
		if o.Index < rec.Made && !seen[o.Index] {
			seen[o.Index] = true
			rec.Open = append(rec.Open, o)
		}
	}
	return rec, nil
}

// Record returns task id as LoadRecords would, or ErrNotFound.
func (s *Store) Record(id string) (task.Record, error) { return oneTask(s, id, loadRecord) }

// RecordFunc is called by Records with a task's sequence (its place in
// creation order, from 1), its spec, and load, which reads the task as
// LoadRecords would (counting its runs) and is valid only during the
// call. It returns false to stop.
type RecordFunc func(seq uint64, spec *task.Spec, load func() (task.Record, error)) (more bool, err error)

// Records calls fn with the tasks after sequence after (0: from the
// first), in creation order when asc, else newest first (before after),
// in one read transaction, until fn returns false or an error. A caller
// that passes over a task by its spec (another owner's) does not pay for
// reading its runs. fn must not call the Store's write methods.
func (s *Store) Records(after uint64, asc bool, fn RecordFunc) error {
	return s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns).Cursor()
		c := tx.Bucket(bucketTasks).Cursor()
		var k, v []byte
		switch {
		case asc:
			k, v = c.Seek(u64(after + 1))
		case after == 0:
			k, v = c.Last()
		default:
			if k, _ = c.Seek(u64(after)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = step(c, asc) {
			tr, err := decodeTask(v)
			if err != nil {
				return fmt.Errorf("task #%d: %w", beUint64(k), err)
			}
			seqKey, value := k, v
			more, err := fn(beUint64(k), &tr.Spec, func() (task.Record, error) { return loadRecord(runs, seqKey, value) })
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// step moves c one task on, forward when asc.
func step(c *bolt.Cursor, asc bool) ([]byte, []byte) {
	if asc {
		return c.Next()
	}
	return c.Prev()
}
