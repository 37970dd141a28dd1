package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// logState is a task's log window: entries first..next-1 are kept and hold
// size bytes of Data. It lets an append drop the oldest entries without
// scanning the task's log.
type logState struct {
	first, next, size uint64
}

func (l logState) encode() []byte {
	b := make([]byte, 0, 24)
	for _, v := range []uint64{l.first, l.next, l.size} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// decodeLogState reads a task's log state; nil (no logs yet) is the empty
// window.
func decodeLogState(v []byte) (logState, error) {
	switch len(v) {
	case 0:
		return logState{}, nil
	case 24:
		return logState{first: beUint64(v), next: beUint64(v[8:]), size: beUint64(v[16:])}, nil
	}
	return logState{}, fmt.Errorf("%w: log state of %d bytes", ErrCorrupt, len(v))
}

// AppendLogs adds entries to task id's log and drops its oldest entries
// while the log holds more than limit bytes of Data; the newest entry is
// always kept, as the gateway's in-memory log does. Like SaveRuns, it is
// durable on return and concurrent calls share one commit.
func (s *Store) AppendLogs(id string, limit int, entries ...task.LogEntry) error {
	if limit <= 0 {
		return fmt.Errorf("append logs of task %s: limit %d is not positive", id, limit)
	}
	// Entries this call would drop at once are not written at all.
	total := 0
	for i := range entries {
		total += len(entries[i].Data)
	}
	for len(entries) > 1 && total > limit {
		total -= len(entries[0].Data)
		entries = entries[1:]
	}
	if len(entries) == 0 {
		return nil
	}
	enc := make([][]byte, len(entries))
	for i := range entries {
		enc[i] = encodeLog(&entries[i])
	}
	err := s.commit.do(&appendLogsCmd{ID: id, Limit: limit, Entries: entries, enc: enc})
	if err != nil {
		return fmt.Errorf("append logs of task %s: %w", id, err)
	}
	return nil
}

func appendLogs(tx *bolt.Tx, seq, limit uint64, entries []task.LogEntry, enc [][]byte) error {
	states, logs := tx.Bucket(bucketLogState), tx.Bucket(bucketLogs)
	st, err := decodeLogState(states.Get(u64(seq)))
	if err != nil {
		return err
	}
	before := st.size
	for i, v := range enc {
		if err := logs.Put(logKey(seq, st.next), v); err != nil {
			return fmt.Errorf("put log entry: %w", err)
		}
		st.next++
		st.size += uint64(len(entries[i].Data))
	}
	for st.size > limit && st.next-st.first > 1 {
		k := logKey(seq, st.first)
		e, err := decodeLog(logs.Get(k))
		if err != nil {
			return fmt.Errorf("entry %d: %w", st.first, err)
		}
		if err := logs.Delete(k); err != nil {
			return fmt.Errorf("drop log entry: %w", err)
		}
		st.first++
		st.size -= min(st.size, uint64(len(e.Data)))
	}
	if err := states.Put(u64(seq), st.encode()); err != nil {
		return fmt.Errorf("put log state: %w", err)
	}
	return addCounter(tx.Bucket(bucketMeta), counterLogBytes, int64(st.size)-int64(before))
}

// Logs returns task id's kept log entries in order: empty, not nil, when
// there are none; ErrNotFound when there is no such task.
func (s *Store) Logs(id string) ([]task.LogEntry, error) {
	out := []task.LogEntry{}
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		prefix := u64(seq)
		c := tx.Bucket(bucketLogs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			e, err := decodeLog(v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("logs of task %s: %w", id, err)
	}
	return out, nil
}
