package proc

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Table holds the processes one worker runs and routes their messages:
// between two of its own processes directly, to others through its
// Transport. The worker feeds it what the gateway sends (Deliver, Closed,
// Ended). Its methods are safe for concurrent use.
type Table struct {
	tr Transport

	mu    sync.Mutex
	procs map[Key]*Process
	// spawner maps a child's key to the process here that spawned it, as
	// soon as either its Spawn returned or its first message came.
	spawner map[Key]*Process
	// orphans are the ends of children no process here knows yet: Ended
	// can come before the Spawn that made the child returns. They are kept
	// only while a Spawn is in flight (spawning > 0), so that the ends of
	// children whose parent is gone do not pile up.
	orphans  map[Key]Exit
	spawning int
	started  chan struct{} // closed when a process starts; nil when no one waits
	// gone remembers the ends of the last rememberEnded processes, so that
	// a message that comes after its receiver's end fails at once instead
	// of waiting for a start that will not come; goneOrder is its ring.
	gone      map[Key]Exit
	goneOrder []Key
	goneNext  int
}

// rememberEnded is how many ended processes a Table remembers.
const rememberEnded = 4096

// NewTable returns an empty Table that reaches other nodes through t.
func NewTable(t Transport) *Table {
	return &Table{tr: t, procs: make(map[Key]*Process), spawner: make(map[Key]*Process), gone: make(map[Key]Exit)}
}

// remember records the end of a process. t.mu is held.
func (t *Table) remember(k Key, exit Exit) {
	if len(t.goneOrder) < rememberEnded {
		t.goneOrder = append(t.goneOrder, k)
	} else {
		delete(t.gone, t.goneOrder[t.goneNext])
		t.goneOrder[t.goneNext] = k
		t.goneNext = (t.goneNext + 1) % rememberEnded
	}
	t.gone[k] = exit
}

// Start registers the process self, whose parent is parent ("" for a
// root), before its module starts, so that messages for it are taken. It
// fails with ErrInvalid if self is already running here. The caller must
// call End when the run ends.
func (t *Table) Start(self, parent Key) (*Process, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.procs[self]; ok {
		return nil, fmt.Errorf("%w: process %s is already running", ErrInvalid, self)
	}
	p := &Process{
		t: t, key: self, parent: parent,
		handles:  make(map[int32]Key),
		closed:   make(map[int32]bool),
		inbox:    make(map[Key]*Mailbox),
		children: make(map[Key]*child),
		spawns:   make(map[int32]*spawning),
		slots:    make(chan struct{}, MaxSpawning),
		done:     make(chan struct{}),
	}
	t.procs[self] = p
	delete(t.gone, self) // run again
	if t.started != nil {
		close(t.started)
		t.started = nil
	}
	return p, nil
}

// Running reports whether process k runs here now.
func (t *Table) Running(k Key) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.procs[k]
	return ok
}

// Deliver puts msg, from the process from, into the mailbox of the
// process to, which runs here: it blocks while that mailbox is full, and
// while to has not started yet (the gateway may deliver before the run
// registers it), until ctx ends. It fails with ErrClosed or ErrFailed once
// to has ended (as long as the Table remembers it: the last 4096 ends), and with ErrInvalid for a message over MaxMessage. The
// Table keeps msg.
func (t *Table) Deliver(ctx context.Context, from, to Key, msg []byte) error {
	mb, err := t.inbox(ctx, from, to)
	if err != nil {
		return err
	}
	if err := mb.Put(ctx, msg); err != nil {
		return fmt.Errorf("deliver to %s: %w", to, err)
	}
	return nil
}

// Closed records that from closed its side of its channel to to, which
// runs here (waiting for it to start, as Deliver does); once to has
// ended there is no one to tell, and it does nothing.
func (t *Table) Closed(ctx context.Context, from, to Key) error {
	mb, err := t.inbox(ctx, from, to)
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrFailed) {
		return nil // to has ended: there is no one to tell, as at the gateway
	}
	if err != nil {
		return err
	}
	mb.Close()
	return nil
}

// inbox returns to's mailbox from from, once to has started or ctx ended.
func (t *Table) inbox(ctx context.Context, from, to Key) (*Mailbox, error) {
	t.mu.Lock()
	for {
		if p := t.procs[to]; p != nil {
			if from != p.parent {
				// A message from a child may come before Spawn returns its key.
				t.spawner[from] = p
			}
			mb := p.mailbox(from)
			t.mu.Unlock()
			return mb, nil
		}
		if exit, ok := t.gone[to]; ok {
			t.mu.Unlock()
			return nil, fmt.Errorf("deliver to %s: %w", to, endError(to, exit))
		}
		if t.started == nil {
			t.started = make(chan struct{})
		}
		started := t.started
		t.mu.Unlock()
		select {
		case <-started:
		case <-ctx.Done():
			return nil, fmt.Errorf("deliver to %s, which has not started: %w", to, context.Cause(ctx))
		}
		t.mu.Lock()
	}
}

// Ended records that child, which a process here spawned, has ended:
// that process's Wait for it returns, and its mailbox from child ends
// (closed if child exited, failed with exit.Err otherwise), so that its
// receives drain what child sent and then fail. A lost worker is an
// Exit{Err: "worker lost"}. Ended of a child no process here spawned is
// dropped; it may come before the Spawn that made child returns.
func (t *Table) Ended(child Key, exit Exit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.spawner[child]
	if p == nil {
		if t.spawning > 0 {
			if t.orphans == nil {
				t.orphans = make(map[Key]Exit)
			}
			t.orphans[child] = exit
		}
		return
	}
	p.childEnded(child, exit)
}

// spawned records that p's Spawn returned child's key. t.mu is held.
func (t *Table) spawned(p *Process, child Key) {
	exit, early := t.orphans[child]
	delete(t.orphans, child)
	if p.ended {
		return
	}
	t.spawner[child] = p
	p.childState(child)
	if early {
		p.childEnded(child, exit)
	}
}

// spawnDone ends a Spawn in flight. t.mu is held.
func (t *Table) spawnDone() {
	t.spawning--
	if t.spawning == 0 {
		t.orphans = nil
	}
}
