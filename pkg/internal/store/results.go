package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Results. A run's result (its stdout, up to the gateway's --max-output)
// is most of what its record weighs, and a task may have a million runs.
// So the store keeps whole the results of a task's newest runs only
// (Options.KeepResults of them, by index): when run i is stored, run
// i-KeepResults loses its result, and its record keeps the result's size
// (Run.ResultBytes) with everything else. The task's own result, that of
// its last run to succeed, is kept whatever its age: the results bucket
// marks which run it is.

// resultMark names a task's result run: its index, and when it ended
// (a later end replaces it; saves of runs may commit out of order).
type resultMark struct {
	index uint32
	ended int64 // Unix nanoseconds
}

func (m resultMark) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(make([]byte, 0, 12), m.index), uint64(m.ended))
}

func getMark(tx *bolt.Tx, seq uint64) (resultMark, bool) {
	v := tx.Bucket(bucketResults).Get(u64(seq))
	if len(v) != 12 {
		return resultMark{}, false
	}
	return resultMark{index: beUint32(v), ended: int64(beUint64(v[4:]))}, true
}

// keepResults marks run r the task's result run when it succeeded last,
// and drops the results that fell out of the newest keep runs: the one
// keep before r, and the task's former result run if it is that old.
func keepResults(tx *bolt.Tx, seq uint64, r encodedRun, keep int) error {
	mark, marked := getMark(tx, seq)
	if r.succeeded && (!marked || r.ended >= mark.ended) {
		if err := tx.Bucket(bucketResults).Put(u64(seq), resultMark{index: r.index, ended: r.ended}.encode()); err != nil {
			return fmt.Errorf("mark result: %w", err)
		}
		if marked && mark.index != r.index && keep > 0 && int64(mark.index) <= int64(highestRun(tx, seq))-int64(keep) {
			if err := dropResult(tx, seq, mark.index); err != nil {
				return err
			}
		}
		mark, marked = resultMark{index: r.index, ended: r.ended}, true
	}
	if keep <= 0 {
		return nil
	}
	// Runs are saved in the order they end: r may come after runs keep or
	// more past it, and be too old to keep itself.
	if h := highestRun(tx, seq); int64(r.index) <= int64(h)-int64(keep) && !(marked && mark.index == r.index) {
		return dropResult(tx, seq, r.index)
	}
	if int64(r.index) < int64(keep) {
		return nil
	}
	old := r.index - uint32(keep)
	if marked && mark.index == old {
		return nil
	}
	return dropResult(tx, seq, old)
}

// highestRun is the highest index among the stored runs of task seq (it
// has one: the caller just stored it).
func highestRun(tx *bolt.Tx, seq uint64) uint32 {
	c := tx.Bucket(bucketRuns).Cursor()
	k, _ := c.Seek(u64(seq + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) != 12 || beUint64(k) != seq {
		return 0
	}
	return beUint32(k[8:])
}

// dropResult empties the result of run index, keeping its size.
func dropResult(tx *bolt.Tx, seq uint64, index uint32) error {
	b := tx.Bucket(bucketRuns)
	k := runKey(seq, index)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	run, err := decodeRun(v, index)
	if err != nil {
		return fmt.Errorf("run %d: %w", index, err)
	}
	if run.Result == "" || !run.Status.Done() {
		return nil
	}
	run.ResultBytes, run.Result = len(run.Result), ""
	if err := b.Put(k, encodeRun(&run)); err != nil {
		return fmt.Errorf("drop result of run %d: %w", index, err)
	}
	return nil
}

// markResults makes the results bucket of a store written before it:
// each task's last run to succeed is marked, once, when the store is
// opened.
func markResults(tx *bolt.Tx) error {
	b, err := tx.CreateBucket(bucketResults)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketResults, err)
	}
	marks := make(map[uint64]resultMark)
	c := tx.Bucket(bucketRuns).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 12 {
			continue
		}
		seq, index := beUint64(k), beUint32(k[8:])
		r, err := decodeRun(v, index)
		if err != nil {
			return fmt.Errorf("mark results: %w", err)
		}
		if m, ok := marks[seq]; r.Status == task.Succeeded && (!ok || r.Ended.UnixNano() >= m.ended) {
			marks[seq] = resultMark{index: index, ended: r.Ended.UnixNano()}
		}
	}
	for seq, m := range marks {
		if err := b.Put(u64(seq), m.encode()); err != nil {
			return fmt.Errorf("mark results: %w", err)
		}
	}
	return nil
}
