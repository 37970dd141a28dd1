package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// DeleteTasks removes every record of the tasks ids (the task, its runs,
// its log, its result mark) in one transaction, durable on return. Ids
// the store does not hold are passed over. It returns the bytes of
// records removed. The file does not shrink: bbolt reuses the freed
// pages for what is written next.
func (s *Store) DeleteTasks(ids ...string) (int64, error) {
	var freed int64
	err := s.commit.do(func(tx *bolt.Tx) error {
		freed = 0
		m := tx.Bucket(bucketMeta)
		var tasks, runs int64
		var logBytes int64
		for _, id := range ids {
			seq, err := taskSeq(tx, id)
			if err != nil {
				continue
			}
			key := u64(seq)
			freed += int64(len(tx.Bucket(bucketTasks).Get(key)))
			for _, b := range [][]byte{bucketTasks, bucketResults} {
				if err := tx.Bucket(b).Delete(key); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketIDs).Delete([]byte(id)); err != nil {
				return err
			}
			n, size, err := deletePrefix(tx.Bucket(bucketRuns), key)
			if err != nil {
				return err
			}
			runs += n
			freed += size
			st, err := decodeLogState(tx.Bucket(bucketLogState).Get(key))
			if err != nil {
				return err
			}
			logBytes += int64(st.size)
			if err := tx.Bucket(bucketLogState).Delete(key); err != nil {
				return err
			}
			_, size, err = deletePrefix(tx.Bucket(bucketLogs), key)
			if err != nil {
				return err
			}
			if err := deleteJob(tx, seq); err != nil {
				return err
			}
			freed += size
			tasks++
		}
		for _, c := range []struct {
			key []byte
			n   int64
		}{{counterTasks, tasks}, {counterRuns, runs}, {counterLogBytes, logBytes}} {
			if err := addCounter(m, c.key, -c.n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete %d tasks: %w", len(ids), err)
	}
	return freed, nil
}

// deletePrefix deletes every key of b that starts with prefix, and
// returns how many and the bytes of their values.
func deletePrefix(b *bolt.Bucket, prefix []byte) (n, size int64, err error) {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		size += int64(len(v))
		if err := c.Delete(); err != nil {
			return n, size, err
		}
		n++
	}
	return n, size, nil
}
