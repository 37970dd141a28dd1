package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/shoalmesh/shoal/pkg/task"
)

// logbook keeps the recent output of every task, bounded per task, and wakes
// followers when more arrives.
type logbook struct {
	mu      sync.Mutex
	limit   int // bytes kept per task; older entries are dropped first
	seq     uint64
	tasks   map[string]*tasklog
	changed chan struct{} // closed and replaced on every append
}

type tasklog struct {
	entries []task.LogEntry
	bytes   int
	dropped int
	closed  bool // the task ended: followers stop after the last entry
}

func newLogbook(limit int) *logbook {
	return &logbook{limit: limit, tasks: make(map[string]*tasklog), changed: make(chan struct{})}
}

func (b *logbook) append(id string, run, attempt int, stream string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tl := b.get(id)
	b.seq++
	tl.entries = append(tl.entries, task.LogEntry{Seq: b.seq, Time: time.Now(), Run: run, Attempt: attempt, Stream: stream, Data: string(data)})
	tl.bytes += len(data)
	for tl.bytes > b.limit && len(tl.entries) > 1 {
		tl.bytes -= len(tl.entries[0].Data)
		tl.entries = tl.entries[1:]
		tl.dropped++
	}
	b.notify()
}

// close marks a task's log complete, so followers end.
func (b *logbook) close(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.get(id).closed = true
	b.notify()
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
