package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// logbook keeps the recent output of every task, bounded per task, in
// memory and in the store, and wakes followers when more arrives. A task
// whose log is not in memory (the gateway restarted) is read from the store.
type logbook struct {
	st      *store.Store
	mu      sync.Mutex
	limit   int // bytes kept per task; older entries are dropped first
	seq     uint64
	tasks   map[string]*tasklog
	changed chan struct{} // closed and replaced on every append
}

type tasklog struct {
	entries []task.LogEntry
	bytes   int
	closed  bool // the task ended: followers stop after the last entry
}

// newLogbook starts sequence numbers at the clock, so entries written after
// a restart sort after the stored ones.
func newLogbook(limit int, st *store.Store) *logbook {
	return &logbook{st: st, limit: limit, seq: uint64(time.Now().UnixNano()), tasks: make(map[string]*tasklog), changed: make(chan struct{})}
}

// save records entry e of task id's log in the store; the caller has
// added it (add) and waits for the commit.
func (b *logbook) save(id string, e task.LogEntry) error { return b.st.AppendLogs(id, b.limit, e) }

func (b *logbook) add(id string, run, attempt int, stream string, data []byte) task.LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	tl := b.get(id)
	b.seq++
	e := task.LogEntry{Seq: b.seq, Time: time.Now(), Run: run, Attempt: attempt, Stream: stream, Data: string(data)}
	tl.entries = append(tl.entries, e)
	tl.bytes += len(data)
	for tl.bytes > b.limit && len(tl.entries) > 1 {
		tl.bytes -= len(tl.entries[0].Data)
		tl.entries = tl.entries[1:]
	}
	b.notify()
	return e
}

// close marks a task's log complete, so followers end. A log not in
// memory needs nothing: load marks it complete from the task's status.
func (b *logbook) close(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if tl, ok := b.tasks[id]; ok {
		tl.closed = true
		b.notify()
	}
}

// reopen marks a task's log open again: runs of the task were put back
// to run again (Gateway.reopen), and their output is still to come.
func (b *logbook) reopen(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if tl, ok := b.tasks[id]; ok {
		tl.closed = false
	}
}

func (b *logbook) get(id string) *tasklog {
	tl, ok := b.tasks[id]
	if !ok {
		tl = &tasklog{}
		b.tasks[id] = tl
	}
	return tl
}

func (b *logbook) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// load reads the stored log of a task this gateway has no output of in
// memory; done says whether the task has ended.
func (b *logbook) load(id string, done bool) {
	b.mu.Lock()
	_, ok := b.tasks[id]
	b.mu.Unlock()
	if ok {
		return
	}
	entries, err := b.st.Logs(id)
	if err != nil {
		entries = nil // nothing stored: a task that has written nothing yet
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.tasks[id]; ok {
		return // output arrived meanwhile and is newer
	}
	tl := &tasklog{entries: entries, closed: done}
	for _, e := range entries {
		tl.bytes += len(e.Data)
	}
	b.tasks[id] = tl
}

// since returns the entries of id after seq, whether the log is complete,
// and a channel closed when anything changes.
func (b *logbook) since(id string, seq uint64) ([]task.LogEntry, bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tl, ok := b.tasks[id]
	if !ok {
		return nil, false, b.changed
	}
	var out []task.LogEntry
	for _, e := range tl.entries {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, tl.closed, b.changed
}

// follow calls fn for every entry of id, existing and new, until the task's
// log is complete, ctx ends or fn fails.
func (b *logbook) follow(ctx context.Context, id string, fn func(task.LogEntry) error) error {
	var seq uint64
	for {
		entries, closed, changed := b.since(id, seq)
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
			seq = e.Seq
		}
		if closed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
