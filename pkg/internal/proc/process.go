package proc

import (
	"context"
	"fmt"
	"time"
)

// Process is one run registered in a Table. Its Host serves the run's
// process calls; End removes it.
type Process struct {
	t           *Table
	key, parent Key

	// The rest is guarded by t.mu.
	handles  map[int32]Key    // the guest's handles of its children
	next     int32            // the last handle given
	closed   map[int32]bool   // the handles whose sending side was closed
	inbox    map[Key]*Mailbox // the messages from each peer
	children map[Key]*child   // the children's ends
	// spawns are the spawns under way, by handle (see host.Spawn); slots
	// bounds them.
	spawns map[int32]*spawning
	slots  chan struct{}
	ended  bool
	done   chan struct{} // closed by End
}

// spawning is a spawn under way: its handle is given, its key not yet.
type spawning struct {
	done chan struct{} // closed when key or err is set
	key  Key
	err  error
}

// MaxSpawning bounds the spawns of one process under way at once: past it
// spawn waits for one to be accepted, so a guest spawning in a loop cannot
// pile up calls without end.
const MaxSpawning = 64

// child is what a process knows of the end of one of its children.
type child struct {
	exit  Exit
	ended bool
	done  chan struct{} // closed when it ends
}

// Key returns the process's key.
func (p *Process) Key() Key { return p.key }

// Host returns what the run's shoal host functions call.
func (p *Process) Host() Host { return host{p} }

// End removes the process when its run ends: senders to it, blocked or
// not, fail with ErrClosed (exit.Err == "") or ErrFailed, and so do its
// own calls still under way. Later calls do nothing.
func (p *Process) End(exit Exit) {
	t := p.t
	t.mu.Lock()
	if p.ended {
		t.mu.Unlock()
		return
	}
	p.ended = true
	delete(t.procs, p.key)
	t.remember(p.key, exit)
	for k := range p.children {
		if t.spawner[k] == p {
			delete(t.spawner, k)
		}
	}
	for k := range p.inbox {
		if t.spawner[k] == p {
			delete(t.spawner, k)
		}
	}
	close(p.done)
	boxes := p.inbox
	t.mu.Unlock()
	err := endError(p.key, exit)
	for _, mb := range boxes {
		mb.End(err)
	}
}

// mailbox returns p's mailbox from peer, made on first use. t.mu is held.
func (p *Process) mailbox(peer Key) *Mailbox {
	mb := p.inbox[peer]
	if mb == nil {
		mb = NewMailbox()
		p.inbox[peer] = mb
	}
	return mb
}

// childState returns what p knows of child's end. t.mu is held.
func (p *Process) childState(key Key) *child {
	c := p.children[key]
	if c == nil {
		c = &child{done: make(chan struct{})}
		p.children[key] = c
	}
	return c
}

// childEnded records the end of p's child. t.mu is held.
func (p *Process) childEnded(key Key, exit Exit) {
	c := p.childState(key)
	if c.ended {
		return
	}
	c.exit, c.ended = exit, true
	close(c.done)
	if exit.Err == "" {
		p.mailbox(key).Close()
	} else {
		p.mailbox(key).Fail(fmt.Sprintf("process %s: %s", key, exit.Err))
	}
}

// resolve returns the key of handle h, waiting while its spawn is under
// way; it is peer for a handle whose spawn was accepted. t.mu is held, and
// released while it waits.
func (p *Process) resolve(ctx context.Context, h int32) (Key, error) {
	for {
		sp := p.spawns[h]
		if sp == nil {
			return p.peer(h)
		}
		select {
		case <-sp.done:
		default:
			p.t.mu.Unlock()
			select {
			case <-sp.done:
			case <-ctx.Done():
				p.t.mu.Lock()
				return "", fmt.Errorf("handle %d: %w", h, context.Cause(ctx))
			}
			p.t.mu.Lock()
		}
		if sp.err != nil {
			return "", fmt.Errorf("handle %d: %w", h, sp.err)
		}
	}
}

// peer returns the key of handle h. t.mu is held.
func (p *Process) peer(h int32) (Key, error) {
	if p.ended {
		return "", fmt.Errorf("%w: process %s has ended", ErrClosed, p.key)
	}
	if h == 0 {
		if p.parent == "" {
			return "", fmt.Errorf("%w: handle 0: a root process has no parent", ErrInvalid)
		}
		return p.parent, nil
	}
	k, ok := p.handles[h]
	if !ok {
		return "", fmt.Errorf("%w: no handle %d", ErrInvalid, h)
	}
	return k, nil
}

// host is a Process seen by its run.
type host struct{ p *Process }

var _ Host = host{}

func (h host) Self() Key { return h.p.key }

// Spawn gives the child its handle at once and asks for it in the
// background, as Erlang's and Hadean's spawns do: the parent goes on (and
// may spawn again) while the gateway places the child. A spawn the
// gateway refuses fails the first call on the handle, with ErrSpawn.
// When the Transport is a Spawner, the requests leave in the order of the
// spawns. At most MaxSpawning are under way at once.
func (h host) Spawn(ctx context.Context, req Request) (int32, error) {
	p, t := h.p, h.p.t
	select {
	case p.slots <- struct{}{}:
	case <-p.done:
		return 0, fmt.Errorf("%w: process %s has ended", ErrClosed, p.key)
	case <-ctx.Done():
		return 0, fmt.Errorf("spawn: %w", context.Cause(ctx))
	}
	t.mu.Lock()
	if p.ended {
		t.mu.Unlock()
		<-p.slots
		return 0, fmt.Errorf("%w: process %s has ended", ErrClosed, p.key)
	}
	t.spawning++
	p.next++
	handle, sp := p.next, &spawning{done: make(chan struct{})}
	p.spawns[handle] = sp
	t.mu.Unlock()
	var result func() (Key, error)
	if s, ok := t.tr.(Spawner); ok {
		result = s.StartSpawn(ctx, p.key, req)
	} else {
		result = func() (Key, error) { return t.tr.Spawn(ctx, p.key, req) }
	}
	go func() {
		key, err := result()
		t.mu.Lock()
		defer t.mu.Unlock()
		defer t.spawnDone() // after spawned has claimed an end that came early
		<-p.slots
		if err != nil {
			sp.err = err // kept: every call on the handle fails with it
		} else {
			delete(p.spawns, handle)
			sp.key = key
			t.spawned(p, key)
			p.handles[handle] = key
		}
		close(sp.done)
	}()
	return handle, nil
}

func (h host) Send(ctx context.Context, handle int32, msg []byte) error {
	p, t := h.p, h.p.t
	t.mu.Lock()
	key, err := p.resolve(ctx, handle)
	if err == nil && p.closed[handle] {
		err = fmt.Errorf("%w: handle %d: this process closed the channel", ErrInvalid, handle)
	}
	if c := p.children[key]; err == nil && c != nil && c.ended {
		err = fmt.Errorf("send to handle %d: %w", handle, endError(key, c.exit))
	}
	if err != nil {
		t.mu.Unlock()
		return err
	}
	if to := t.procs[key]; to != nil {
		mb := to.mailbox(p.key)
		t.mu.Unlock()
		if err := mb.Put(ctx, msg); err != nil {
			return fmt.Errorf("send to handle %d: %w", handle, err)
		}
		return nil
	}
	t.mu.Unlock()
	if err := t.tr.Send(ctx, p.key, key, msg); err != nil {
		return fmt.Errorf("send to handle %d: %w", handle, err)
	}
	return nil
}

func (h host) Recv(ctx context.Context, handle int32, timeout time.Duration) ([]byte, error) {
	p, t := h.p, h.p.t
	t.mu.Lock()
	key, err := p.resolve(ctx, handle)
	if err != nil {
		t.mu.Unlock()
		return nil, err
	}
	mb := p.mailbox(key)
	t.mu.Unlock()
	msg, err := mb.Get(ctx, timeout)
	if err != nil {
		return nil, fmt.Errorf("recv from handle %d: %w", handle, err)
	}
	return msg, nil
}

func (h host) Close(ctx context.Context, handle int32) error {
	p, t := h.p, h.p.t
	t.mu.Lock()
	key, err := p.resolve(ctx, handle)
	if err != nil || p.closed[handle] {
		t.mu.Unlock()
		return err
	}
	p.closed[handle] = true
	if c := p.children[key]; c != nil && c.ended {
		t.mu.Unlock()
		return nil
	}
	if to := t.procs[key]; to != nil {
		mb := to.mailbox(p.key)
		t.mu.Unlock()
		mb.Close()
		return nil
	}
	t.mu.Unlock()
	if err := t.tr.Close(ctx, p.key, key); err != nil {
		return fmt.Errorf("close handle %d: %w", handle, err)
	}
	return nil
}

func (h host) Wait(ctx context.Context, handle int32) (int32, error) {
	p, t := h.p, h.p.t
	t.mu.Lock()
	if handle == 0 {
		t.mu.Unlock()
		return 0, fmt.Errorf("%w: wait for handle 0: only children can be waited for", ErrInvalid)
	}
	key, err := p.resolve(ctx, handle)
	if err != nil {
		t.mu.Unlock()
		return 0, err
	}
	c := p.childState(key)
	t.mu.Unlock()
	select {
	case <-c.done:
	case <-p.done:
		return 0, fmt.Errorf("%w: process %s has ended", ErrClosed, p.key)
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for handle %d: %w", handle, context.Cause(ctx))
	}
	t.mu.Lock()
	exit := c.exit
	t.mu.Unlock()
	if exit.Err != "" {
		return 0, fmt.Errorf("wait for handle %d: %w", handle, endError(key, exit))
	}
	return exit.Code, nil
}

// endError is what a peer of the process key gets once it has ended.
func endError(key Key, exit Exit) error {
	if exit.Err == "" {
		return fmt.Errorf("%w: process %s exited with code %d", ErrClosed, key, exit.Code)
	}
	return fmt.Errorf("%w: process %s: %s", ErrFailed, key, exit.Err)
}
