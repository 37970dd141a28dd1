package proc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// mesh connects Tables in-process: it stands for the gateway, routing by
// key to the Table holding a process and placing spawned children on
// tables[spawnOn].
type mesh struct {
	mu      sync.Mutex
	tables  []*proc.Table
	where   map[proc.Key]*proc.Table
	spawned int
	spawnOn int
	sends   int // Transport.Send calls
	// onSpawn, when set, runs before Spawn returns the child's key.
	onSpawn func(parent, child proc.Key)
}

var _ proc.Transport = (*mesh)(nil)

// newMesh returns a mesh of n Tables.
func newMesh(n int) *mesh {
	m := &mesh{where: make(map[proc.Key]*proc.Table)}
	for range n {
		m.tables = append(m.tables, proc.NewTable(m))
	}
	return m
}

func (m *mesh) Spawn(ctx context.Context, parent proc.Key, req proc.Request) (proc.Key, error) {
	m.mu.Lock()
	m.spawned++
	child := proc.Key(fmt.Sprintf("%s.%d", parent, m.spawned))
	m.where[child] = m.tables[m.spawnOn]
	hook := m.onSpawn
	m.mu.Unlock()
	if hook != nil {
		hook(parent, child)
	}
	return child, nil
}

func (m *mesh) table(k proc.Key) *proc.Table {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.where[k]
}

func (m *mesh) Send(ctx context.Context, from, to proc.Key, msg []byte) error {
	m.mu.Lock()
	m.sends++
	m.mu.Unlock()
	return m.table(to).Deliver(ctx, from, to, msg)
}

func (m *mesh) Close(ctx context.Context, from, to proc.Key) error {
	return m.table(to).Closed(ctx, from, to)
}

// mustStart starts key on table i.
func (m *mesh) mustStart(tb testing.TB, i int, key, parent proc.Key) *proc.Process {
	tb.Helper()
	m.mu.Lock()
	m.where[key] = m.tables[i]
	m.mu.Unlock()
	p, err := m.tables[i].Start(key, parent)
	if err != nil {
		tb.Fatalf("Start %s: %v", key, err)
	}
	return p
}

// mustSpawn spawns a child of parent and starts it where the mesh put it.
func (m *mesh) mustSpawn(tb testing.TB, parent *proc.Process) (int32, *proc.Process) {
	tb.Helper()
	m.mu.Lock()
	before := m.spawned
	m.mu.Unlock()
	h, err := parent.Host().Spawn(context.Background(), proc.Request{})
	if err != nil {
		tb.Fatalf("Spawn: %v", err)
	}
	// The spawn goes on in the background: wait for the transport to
	// have made the child.
	var key proc.Key
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Microsecond) {
		m.mu.Lock()
		if m.spawned > before {
			key = proc.Key(fmt.Sprintf("%s.%d", parent.Key(), m.spawned))
		}
		m.mu.Unlock()
		if key != "" {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("the spawn never reached the transport")
		}
	}
	p, err := m.table(key).Start(key, parent.Key())
	if err != nil {
		tb.Fatalf("Start %s: %v", key, err)
	}
	return h, p
}

func mustRecv(tb testing.TB, h proc.Host, handle int32, want string) {
	tb.Helper()
	msg, err := h.Recv(context.Background(), handle, -1)
	if err != nil || string(msg) != want {
		tb.Fatalf("Recv(%d) = %q, %v; want %q", handle, msg, err, want)
	}
}

func mustSend(tb testing.TB, h proc.Host, handle int32, msg string) {
	tb.Helper()
	if err := h.Send(context.Background(), handle, []byte(msg)); err != nil {
		tb.Fatalf("Send(%d, %q): %v", handle, msg, err)
	}
}

// placements run the channel tests with the child on the parent's Table
// (local delivery) and on another one (through the Transport).
var placements = []struct {
	name    string
	spawnOn int
	sends   int // Transport.Send calls expected per message
}{
	{"local", 0, 0},
	{"remote", 1, 1},
}

func TestChannelRoundTrip(t *testing.T) {
	for _, pl := range placements {
		t.Run(pl.name, func(t *testing.T) {
			m := newMesh(2)
			m.spawnOn = pl.spawnOn
			root := m.mustStart(t, 0, "task/0#1", "")
			h, child := m.mustSpawn(t, root)
			if h != 1 {
				t.Fatalf("first handle = %d, want 1", h)
			}
			for i := range 10 {
				mustSend(t, root.Host(), h, fmt.Sprint("down", i))
				mustSend(t, child.Host(), 0, fmt.Sprint("up", i))
			}
			for i := range 10 {
				mustRecv(t, child.Host(), 0, fmt.Sprint("down", i))
				mustRecv(t, root.Host(), h, fmt.Sprint("up", i))
			}
			if m.sends != 20*pl.sends {
				t.Errorf("Transport.Send calls = %d, want %d", m.sends, 20*pl.sends)
			}
			if h2, _ := m.mustSpawn(t, root); h2 != 2 {
				t.Errorf("second handle = %d, want 2", h2)
			}
		})
	}
}

func TestChannelBackpressure(t *testing.T) {
	for _, pl := range placements {
		t.Run(pl.name, func(t *testing.T) {
			m := newMesh(2)
			m.spawnOn = pl.spawnOn
			root := m.mustStart(t, 0, "task/0#1", "")
			h, child := m.mustSpawn(t, root)
			for i := range proc.MailboxMessages {
				mustSend(t, root.Host(), h, fmt.Sprint(i))
			}
			if err := root.Host().Send(expired(), h, []byte("over")); !errors.Is(err, context.Canceled) {
				t.Fatalf("Send to a full mailbox = %v, want it blocked until canceled", err)
			}
			done := make(chan error, 1)
			go func() { done <- root.Host().Send(context.Background(), h, []byte("last")) }()
			for i := range proc.MailboxMessages {
				mustRecv(t, child.Host(), 0, fmt.Sprint(i))
			}
			if err := <-done; err != nil {
				t.Fatalf("blocked Send: %v", err)
			}
			mustRecv(t, child.Host(), 0, "last")
		})
	}
}

func TestChannelClose(t *testing.T) {
	for _, pl := range placements {
		t.Run(pl.name, func(t *testing.T) {
			m := newMesh(2)
			m.spawnOn = pl.spawnOn
			root := m.mustStart(t, 0, "task/0#1", "")
			h, child := m.mustSpawn(t, root)
			mustSend(t, root.Host(), h, "bye")
			if err := root.Host().Close(context.Background(), h); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := root.Host().Close(context.Background(), h); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := root.Host().Send(context.Background(), h, []byte("x")); !errors.Is(err, proc.ErrInvalid) {
				t.Fatalf("Send after Close = %v, want ErrInvalid", err)
			}
			mustRecv(t, child.Host(), 0, "bye")
			if _, err := child.Host().Recv(context.Background(), 0, -1); !errors.Is(err, proc.ErrClosed) {
				t.Fatalf("Recv once drained = %v, want ErrClosed", err)
			}
		})
	}
}

// TestEnded: a child's end reaches its parent's Wait and Recv, whether it
// comes after Spawn returned, or before it, with or without messages
// delivered before Spawn returned.
func TestEnded(t *testing.T) {
	tests := []struct {
		name    string
		early   bool // Ended (and the message) come before Spawn returns
		message bool // the child sends "hi" before it ends
		exit    proc.Exit
		waitErr error  // nil: Wait returns exit.Code
		recvErr error  // of Recv once drained
		reason  string // in the errors
		sendErr error  // of Send to the ended child
	}{
		{name: "exit", exit: proc.Exit{Code: 7}, recvErr: proc.ErrClosed, sendErr: proc.ErrClosed, message: true},
		{name: "trap", exit: proc.Exit{Err: "trap: unreachable"}, waitErr: proc.ErrFailed, recvErr: proc.ErrFailed, sendErr: proc.ErrFailed, reason: "trap: unreachable", message: true},
		{name: "lost", exit: proc.Exit{Err: "worker lost"}, waitErr: proc.ErrFailed, recvErr: proc.ErrFailed, sendErr: proc.ErrFailed, reason: "worker lost"},
		{name: "message and exit before Spawn returns", early: true, message: true, exit: proc.Exit{Code: 3}, recvErr: proc.ErrClosed, sendErr: proc.ErrClosed},
		{name: "exit before Spawn returns", early: true, exit: proc.Exit{Code: 4}, recvErr: proc.ErrClosed, sendErr: proc.ErrClosed},
		{name: "trap before Spawn returns", early: true, exit: proc.Exit{Err: "time limit of 1s exceeded"}, waitErr: proc.ErrFailed, recvErr: proc.ErrFailed, sendErr: proc.ErrFailed, reason: "time limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMesh(2)
			m.spawnOn = 1
			root := m.mustStart(t, 0, "task/0#1", "")
			end := func(parent, child proc.Key) {
				if tt.message {
					if err := m.tables[0].Deliver(context.Background(), child, parent, []byte("hi")); err != nil {
						t.Errorf("Deliver: %v", err)
					}
				}
				m.tables[0].Ended(child, tt.exit)
			}
			if tt.early {
				m.onSpawn = end
			}
			h, err := root.Host().Spawn(context.Background(), proc.Request{})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.early {
				end("task/0#1", "task/0#1.1")
			}
			code, err := root.Host().Wait(context.Background(), h)
			if tt.waitErr == nil && (err != nil || code != tt.exit.Code) {
				t.Fatalf("Wait = %d, %v; want %d", code, err, tt.exit.Code)
			}
			if tt.waitErr != nil && (!errors.Is(err, tt.waitErr) || !strings.Contains(err.Error(), tt.reason)) {
				t.Fatalf("Wait = %d, %v; want %v with %q", code, err, tt.waitErr, tt.reason)
			}
			if tt.message {
				mustRecv(t, root.Host(), h, "hi")
			}
			_, err = root.Host().Recv(context.Background(), h, -1)
			if !errors.Is(err, tt.recvErr) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Recv once drained = %v, want %v with %q", err, tt.recvErr, tt.reason)
			}
			if err := root.Host().Send(context.Background(), h, []byte("x")); !errors.Is(err, tt.sendErr) {
				t.Fatalf("Send to the ended child = %v, want %v", err, tt.sendErr)
			}
		})
	}
}

// TestEnd: a process's end fails its senders, blocked or not, and its own
// calls.
func TestEnd(t *testing.T) {
	tests := []struct {
		name string
		exit proc.Exit
		want error
	}{
		{"exit", proc.Exit{Code: 0}, proc.ErrClosed},
		{"trap", proc.Exit{Err: "trap: unreachable"}, proc.ErrFailed},
	}
	for _, tt := range tests {
		for _, pl := range placements {
			t.Run(tt.name+" "+pl.name, func(t *testing.T) {
				m := newMesh(2)
				m.spawnOn = pl.spawnOn
				root := m.mustStart(t, 0, "task/0#1", "")
				h, child := m.mustSpawn(t, root)
				for i := range proc.MailboxMessages {
					mustSend(t, root.Host(), h, fmt.Sprint(i))
				}
				done := make(chan error, 1)
				go func() { done <- root.Host().Send(context.Background(), h, []byte("blocked")) }()
				child.End(tt.exit)
				if err := <-done; !errors.Is(err, tt.want) {
					t.Fatalf("blocked Send = %v, want %v", err, tt.want)
				}
				if _, err := child.Host().Recv(context.Background(), 0, -1); !errors.Is(err, proc.ErrClosed) {
					t.Fatalf("Recv after End = %v, want ErrClosed", err)
				}
				child.End(tt.exit) // a second End does nothing
			})
		}
	}
}

func TestDeliverBeforeStart(t *testing.T) {
	m := newMesh(1)
	tbl := m.tables[0]
	if err := tbl.Deliver(expired(), "task/0#1", "task/0#1.1", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver to a process not started = %v, want it blocked until canceled", err)
	}
	done := make(chan error, 1)
	go func() { done <- tbl.Deliver(context.Background(), "task/0#1", "task/0#1.1", []byte("early")) }()
	p := m.mustStart(t, 0, "task/0#1.1", "task/0#1")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := tbl.Closed(context.Background(), "task/0#1", "task/0#1.1"); err != nil {
		t.Fatal(err)
	}
	mustRecv(t, p.Host(), 0, "early")
	if _, err := p.Host().Recv(context.Background(), 0, -1); !errors.Is(err, proc.ErrClosed) {
		t.Fatalf("Recv = %v, want ErrClosed", err)
	}
}

func TestInvalid(t *testing.T) {
	m := newMesh(1)
	root := m.mustStart(t, 0, "task/0#1", "")
	if _, err := m.tables[0].Start("task/0#1", ""); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("Start of a running key = %v, want ErrInvalid", err)
	}
	ctx := context.Background()
	h := root.Host()
	calls := []struct {
		name string
		call func() error
	}{
		{"send to the parent of a root", func() error { return h.Send(ctx, 0, nil) }},
		{"send to an unknown handle", func() error { return h.Send(ctx, 5, nil) }},
		{"send a message too large", func() error {
			m.mustSpawn(t, root)
			return h.Send(ctx, 1, make([]byte, proc.MaxMessage+1))
		}},
		{"recv from an unknown handle", func() error { _, err := h.Recv(ctx, -1, 0); return err }},
		{"close an unknown handle", func() error { return h.Close(ctx, 9) }},
		{"wait for the parent", func() error { _, err := h.Wait(ctx, 0); return err }},
		{"wait for an unknown handle", func() error { _, err := h.Wait(ctx, 99); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, proc.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// TestCanceled: every blocking call returns when its context ends.
func TestCanceled(t *testing.T) {
	m := newMesh(2)
	m.spawnOn = 1
	root := m.mustStart(t, 0, "task/0#1", "")
	h, _ := m.mustSpawn(t, root)
	for i := range proc.MailboxMessages {
		mustSend(t, root.Host(), h, fmt.Sprint(i))
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"send", func(ctx context.Context) error { return root.Host().Send(ctx, h, []byte("x")) }},
		{"recv", func(ctx context.Context) error { _, err := root.Host().Recv(ctx, h, -1); return err }},
		{"recv with a timeout", func(ctx context.Context) error { _, err := root.Host().Recv(ctx, h, 1<<62); return err }},
		{"wait", func(ctx context.Context) error { _, err := root.Host().Wait(ctx, h); return err }},
		{"deliver", func(ctx context.Context) error {
			return m.tables[1].Deliver(ctx, "task/0#1", "task/0#1.1", []byte("x"))
		}},
		{"deliver before start", func(ctx context.Context) error { return m.tables[1].Deliver(ctx, "a", "b", nil) }},
		{"closed before start", func(ctx context.Context) error { return m.tables[1].Closed(ctx, "a", "b") }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.call(ctx) }()
			cause := errors.New("run canceled")
			cancel(cause)
			if err := <-done; !errors.Is(err, cause) {
				t.Fatalf("got %v, want the context's cause", err)
			}
		})
	}
}

func TestDeliverAfterEnd(t *testing.T) {
	m := newMesh(1)
	p := m.mustStart(t, 0, "task/0#1.1", "task/0#1")
	p.End(proc.Exit{Err: "trap: unreachable"})
	err := m.tables[0].Deliver(context.Background(), "task/0#1", "task/0#1.1", []byte("late"))
	if !errors.Is(err, proc.ErrFailed) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Deliver after the end = %v, want ErrFailed with the reason", err)
	}
	m.mustStart(t, 0, "task/0#1.1", "task/0#1") // a run of the same key again
	if err := m.tables[0].Deliver(context.Background(), "task/0#1", "task/0#1.1", []byte("x")); err != nil {
		t.Fatalf("Deliver to the new run: %v", err)
	}
}
