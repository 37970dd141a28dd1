package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// dump is every bucket's keys, values and sequence, as one map.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)+"#seq"] = fmt.Sprint(b.Sequence())
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"/"+hex.EncodeToString(k)] = hex.EncodeToString(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openTemp(t *testing.T, name string, keep int) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), name), Options{NoSync: true, KeepResults: keep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// log is a replicated log in order, in memory: an entry is applied to
// every member, the writer's answer is its own store's.
type log struct {
	mu      sync.Mutex
	members []*Store
	entries [][]byte
	fail    error
}

func (l *log) replicator(writer *Store) Replicator {
	return func(e []byte) (any, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.fail != nil {
			return nil, l.fail
		}
		l.entries = append(l.entries, e)
		var mine any
		for _, m := range l.members {
			if res := m.ApplyEntry(uint64(len(l.entries)), e); m == writer {
				mine = res
			}
		}
		return mine, nil
	}
}

// Every write of a replicated store reaches its peer through the log as
// the same bytes in the same buckets, what the writer's callers are told
// (a taken id, the bytes purged) included; a snapshot makes a third
// store, whatever it held, the same again; and a write the log refuses is
// an error, stored nowhere.
func TestReplicatedStoresAreTheSame(t *testing.T) {
	a, b := openTemp(t, "a", 2), openTemp(t, "b", 5) // keep-results is the writer's
	l := &log{members: []*Store{a, b}}
	a.SetReplicator(l.replicator(a))

	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(wasm)
	hash := hex.EncodeToString(sum[:])
	if err := a.PutModule(hash, wasm); err != nil {
		t.Fatal(err)
	}
	if err := a.NameModule("app", hash, "", false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup // concurrent writers: batches of several commands
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("t", i)
			spec := task.Spec{ID: id, Repeats: 3, Module: hash}
			if err := a.CreateTask(task.New(spec, time.Unix(int64(i), 0)).Clone()); err != nil {
				t.Error(err)
				return
			}
			for r := range 3 {
				run := task.Run{Index: r, Status: task.Succeeded, Result: fmt.Sprint(r), Ended: time.Unix(int64(100+r), 0)}
				if err := a.SaveRuns(id, run); err != nil {
					t.Error(err)
				}
			}
			if err := a.AppendLogs(id, 64, task.LogEntry{Seq: 1, Stream: "stdout", Data: strings.Repeat("x", 40)}, task.LogEntry{Seq: 2, Stream: "stdout", Data: "y"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := a.CreateTask(task.New(task.Spec{ID: "t3", Repeats: 1, Module: hash}, time.Unix(1, 0)).Clone()); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "t3") {
		t.Fatalf("a taken id through the log: %v", err)
	}
	if err := a.CancelTask("t4", time.Unix(200, 0), nil); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveSteps("t5", map[int]StepRecord{0: {Attempt: 1, Status: api.Failed, Error: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutFiles("t5", []Artifact{{Path: "out", Data: []byte("o")}}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCallback("t5", api.Callback{Attempt: 1, Status: api.Failed, Code: 200}, 3); err != nil {
		t.Fatal(err)
	}
	if err := a.PutBundle("app", []Artifact{{Path: "data/in.txt", Data: []byte("in")}}); err != nil {
		t.Fatal(err)
	}
	freed, err := a.DeleteTasks("t6", "t7")
	if err != nil || freed == 0 {
		t.Fatalf("purge through the log: %d bytes, %v", freed, err)
	}
	da, db := dump(t, a), dump(t, b)
	if !maps.Equal(da, db) {
		t.Fatalf("the stores differ after %d entries", len(l.entries))
	}
	if n := uint64(len(l.entries)); a.Applied() != n || b.Applied() != n {
		t.Fatalf("applied: %d and %d, want %d", a.Applied(), b.Applied(), n)
	}

	c := openTemp(t, "c", 0)
	if err := c.PutModule(hash, wasm); err != nil { // what it held goes
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := a.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(da, dump(t, c)) {
		t.Fatal("the store restored from a snapshot differs")
	}
	if c.Applied() != a.Applied() { // the snapshot's index, as the store reopened reads it
		t.Fatalf("applied after a restore: %d, want %d", c.Applied(), a.Applied())
	}
	if v, err := c.Task("t4"); err != nil || v.Status != task.Canceled {
		t.Fatalf("a task of the restored store: %+v %v", v, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err = Open(c.path, Options{NoSync: true}); err != nil || c.Applied() != a.Applied() {
		t.Fatalf("applied after a reopen: %v %d, want %d", err, c.Applied(), a.Applied())
	}
	defer c.Close()
	if err := c.Reset(); err != nil || c.Applied() != 0 {
		t.Fatalf("applied after a reset: %v %d", err, c.Applied())
	}

	l.fail = errors.New("no majority")
	if err := a.CreateTask(task.New(task.Spec{ID: "lost", Repeats: 1, Module: hash}, time.Unix(1, 0)).Clone()); !errors.Is(err, ErrReplicated) {
		t.Fatalf("a write the log refused: %v", err)
	}
	if _, err := a.Task("lost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused write was stored: %v", err)
	}
}
