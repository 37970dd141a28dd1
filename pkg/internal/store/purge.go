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
	cmd := &deleteTasksCmd{IDs: ids}
	if err := s.commit.do(cmd); err != nil {
		return 0, fmt.Errorf("delete %d tasks: %w", len(ids), err)
	}
	return cmd.freed, nil
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
