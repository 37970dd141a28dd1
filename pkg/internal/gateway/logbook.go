package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// logbook keeps the recent output of tasks, bounded per task, in memory
// and in the store, and wakes followers when more arrives. The logs of
// tasks under way stay in memory; of the tasks that ended, only the last
// few read or closed do (maxClosedLogs, maxClosedBytes): the others are
// read from the store when asked for (as after a restart), so memory does
// not grow with the number of tasks.
type logbook struct {
	st      *store.Store
	mu      sync.Mutex
	limit   int // bytes kept per task; older entries are dropped first
	seq     uint64
	tasks   map[string]*tasklog
	changed chan struct{} // closed and replaced on every append
	// closed lists the tasks whose logs are complete, oldest first, for
	// eviction; an id may be listed again or be gone from tasks.
	closed []string
}

// maxClosedLogs and maxClosedBytes bound the complete logs kept in
// memory.
const (
	maxClosedLogs  = 16
	maxClosedBytes = 4 << 20
)

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

// add appends data, written by process pid (0: the run itself), or by
// step step of a job, of attempt attempt of run run, to task id's log.
func (b *logbook) add(id string, run, attempt, pid int, step, stream string, data []byte) task.LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	tl := b.get(id)
	b.seq++
	e := task.LogEntry{Seq: b.seq, Time: time.Now(), Run: run, Attempt: attempt, Stream: stream, Data: string(data), Process: pid, Step: step}
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
	if tl, ok := b.tasks[id]; ok && !tl.closed {
		tl.closed = true
		b.evictLocked(id)
		b.notify()
	}
}

// evictLocked lists id's log as complete, and drops the oldest complete
// logs past maxClosedLogs from memory.
func (b *logbook) evictLocked(id string) {
	b.closed = append(b.closed, id)
	size := 0
	for _, x := range b.closed {
		if tl, ok := b.tasks[x]; ok {
			size += tl.bytes
		}
	}
	for len(b.closed) > maxClosedLogs || (size > maxClosedBytes && len(b.closed) > 1) {
		old := b.closed[0]
		b.closed = b.closed[1:]
		if tl, ok := b.tasks[old]; ok && tl.closed && !slices.Contains(b.closed, old) {
			size -= tl.bytes
			delete(b.tasks, old)
		}
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
	if done {
		b.evictLocked(id)
	}
}

// since returns the entries of id after seq, whether the log is complete,
// and a channel closed when anything changes; in is false when the log is
// not in memory (see load).
func (b *logbook) since(id string, seq uint64) (entries []task.LogEntry, complete bool, changed <-chan struct{}, in bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tl, ok := b.tasks[id]
	if !ok {
		return nil, false, b.changed, false
	}
	var out []task.LogEntry
	for _, e := range tl.entries {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, tl.closed, b.changed, true
}

// follow calls fn for every entry of id, existing and new, until the task's
// log is complete, ctx ends or fn fails.
func (b *logbook) follow(ctx context.Context, id string, fn func(task.LogEntry) error) error {
	var seq uint64
	for {
		entries, closed, changed, in := b.since(id, seq)
		if !in {
			// Complete and evicted while followed (or purged): the rest
			// is in the store.
			b.load(id, true)
			if entries, closed, changed, in = b.since(id, seq); !in {
				return nil
			}
		}
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

// forget drops the logs of purged tasks from memory (the store deletes
// its copy with the tasks); followers end.
func (b *logbook) forget(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		delete(b.tasks, id)
	}
	b.notify()
}
