package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The buckets; doc.go explains what each holds and why.
var (
	bucketMeta     = []byte("meta")
	bucketTasks    = []byte("tasks")
	bucketIDs      = []byte("ids")
	bucketRuns     = []byte("runs")
	bucketModules  = []byte("modules")
	bucketLogs     = []byte("logs")
	bucketLogState = []byte("logstate")
	bucketResults  = []byte("results")

	allBuckets = [][]byte{bucketMeta, bucketTasks, bucketIDs, bucketRuns, bucketModules, bucketLogs, bucketLogState, bucketResults}
)

// Keys of the meta bucket.
var (
	keyFormat       = []byte("format")
	counterTasks    = []byte("count.tasks")
	counterRuns     = []byte("count.runs")
	counterModules  = []byte("count.modules")
	counterLogBytes = []byte("count.logbytes")
	// keyApplied is the index of the last entry of a replicated log
	// applied (ApplyEntry): a snapshot of the store carries it.
	keyApplied = []byte("applied")
)

// initBuckets makes a new file a store, or checks that an existing one is a
// store this binary can read.
func initBuckets(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		if hasBuckets(tx) {
			return errors.New("the file is a bbolt database but not a Shoal store (no meta bucket)")
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, u64(format))
	}
	v := m.Get(keyFormat)
	switch {
	case len(v) != 8:
		return errors.New("the file is not a Shoal store (no format marker)")
	case binary.BigEndian.Uint64(v) > format:
		return fmt.Errorf("the store has format %d, newer than this shoal binary reads (%d): run a newer shoal", binary.BigEndian.Uint64(v), format)
	case binary.BigEndian.Uint64(v) < 1:
		return fmt.Errorf("the store has format %d, older than this shoal binary reads (1 to %d)", binary.BigEndian.Uint64(v), format)
	}
	old := binary.BigEndian.Uint64(v) < format
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil && !(old && bytes.Equal(name, bucketResults)) {
			return fmt.Errorf("the store is damaged: bucket %s is missing", name)
		}
	}
	if old {
		// Format 1, before result marks (results bucket) and run records
		// with a result's size: the marks are made, and the file is marked
		// format 2, so that an older binary refuses it instead of taking
		// its run records for damage.
		if tx.Bucket(bucketResults) == nil {
			if err := markResults(tx); err != nil {
				return err
			}
		}
		return m.Put(keyFormat, u64(format))
	}
	return nil
}

func hasBuckets(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k != nil
}

// u64 is the 8-byte big-endian form used for sequences and counters, so
// that byte order of keys is numeric order.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// runKey is the task's sequence then the run index: a task's runs are one
// prefix, in index order.
func runKey(seq uint64, index uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(make([]byte, 0, 12), seq), index)
}

// logKey is the task's sequence then the entry's number within the task.
func logKey(seq, n uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), seq), n)
}

func getCounter(m *bolt.Bucket, key []byte) uint64 {
	if v := m.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func addCounter(m *bolt.Bucket, key []byte, delta int64) error {
	if delta == 0 {
		return nil
	}
	n := int64(getCounter(m, key)) + delta
	if n < 0 {
		n = 0
	}
	if err := m.Put(key, u64(uint64(n))); err != nil {
		return fmt.Errorf("update counter %s: %w", key, err)
	}
	return nil
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func beUint32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
