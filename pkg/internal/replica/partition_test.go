package replica

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// errCut is a dial across the test network's cut.
var errCut = errors.New("cut off from this member")

// network is a test's network between members over TCP on loopback: each
// member's stream layer dials through it, and it cuts members off from the
// others (no dial either way, and the connections between them closed)
// until it heals.
type network struct {
	mu    sync.Mutex
	cut   map[string]bool // members cut off from the rest
	conns []tracked       // every connection dialed, by whom to whom
}

type tracked struct {
	from, to string
	c        net.Conn
}

// parted reports whether a and b are on two sides of the cut; mu held.
func (n *network) parted(a, b string) bool { return n.cut[a] != n.cut[b] }

// layer is a member's stream layer on the network, listening on
// 127.0.0.1; its address is the member's.
func (n *network) layer(t *testing.T) *layer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &layer{Listener: ln, n: n, self: ln.Addr().String()}
}

// isolate cuts the members addrs off from the others.
func (n *network) isolate(addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		n.cut[a] = true
	}
	kept := n.conns[:0]
	for _, c := range n.conns {
		if n.parted(c.from, c.to) {
			c.c.Close() // its other end reads EOF: closed both ways
			continue
		}
		kept = append(kept, c)
	}
	n.conns = kept
}

// heal lets every member reach every other again.
func (n *network) heal() {
	n.mu.Lock()
	clear(n.cut)
	n.mu.Unlock()
}

// layer is raft.StreamLayer over the test's network.
type layer struct {
	net.Listener
	n    *network
	self string
}

var _ raft.StreamLayer = (*layer)(nil)

func (l *layer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	to := string(addr)
	l.n.mu.Lock()
	parted := l.n.parted(l.self, to)
	l.n.mu.Unlock()
	if parted {
		return nil, fmt.Errorf("dial %s: %w", to, errCut)
	}
	c, err := net.DialTimeout("tcp", to, timeout)
	if err != nil {
		return nil, err
	}
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	if l.n.parted(l.self, to) { // cut while it dialed
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", to, errCut)
	}
	l.n.conns = append(l.n.conns, tracked{from: l.self, to: to, c: c})
	return c, nil
}

// change is a member's Raft state as it changed, and when.
type change struct {
	at     time.Time
	member string
	state  raft.RaftState
}

// history records every member's state changes at the moment Raft makes
// them (an observer's filter runs in Raft's own goroutine, right after the
// state is set), and the leadership notices the member acts on (LeaderCh)
// as they are read.
type history struct {
	mu      sync.Mutex
	changes []change
	notices []change // Leader or Follower, as LeaderCh told true or false
}

func (h *history) observe(t *testing.T, m *member) {
	t.Helper()
	ob := raft.NewObserver(nil, false, func(o *raft.Observation) bool {
		if s, ok := o.Data.(raft.RaftState); ok {
			h.mu.Lock()
			h.changes = append(h.changes, change{time.Now(), m.addr, s})
			h.mu.Unlock()
		}
		return false
	})
	m.rep.raft.RegisterObserver(ob)
	t.Cleanup(func() { m.rep.raft.DeregisterObserver(ob) })
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case lead := <-m.rep.LeaderCh():
				s := raft.Follower
				if lead {
					s = raft.Leader
				}
				h.mu.Lock()
				h.notices = append(h.notices, change{time.Now(), m.addr, s})
				h.mu.Unlock()
			}
		}
	}()
}

// first returns the first of list after since for member in state s.
func first(list []change, since time.Time, member string, s raft.RaftState) (time.Time, bool) {
	for _, c := range list {
		if c.member == member && c.state == s && !c.at.Before(since) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// dump is every bucket of st, keys and values and sequence, as one map,
// read from a snapshot of it.
func dump(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Snapshot(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)+"#seq"] = fmt.Sprint(b.Sequence())
			return b.ForEach(func(k, v []byte) error {
				out[fmt.Sprintf("%s/%x", name, k)] = fmt.Sprintf("%x", v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A leader cut off from the other two stops leading (its LeaderCh says
// so, which stops its gateway) and takes no write, and does so before
// the two elect another: at no moment do two members lead. Healed, it
// follows the new leader, and the three stores are the same again, the
// write it was given while cut off in none of them.
func TestPartitionedLeader(t *testing.T) {
	n := &network{cut: map[string]bool{}}
	ms := make([]*member, 3)
	var peers []string
	for i := range ms {
		l := n.layer(t)
		ms[i] = &member{addr: l.self, dir: t.TempDir(), stream: l}
		peers = append(peers, l.self)
	}
	h := &history{}
	for _, m := range ms {
		m.start(t, peers)
		t.Cleanup(m.stop)
		h.observe(t, m)
	}
	old := leaderOf(t, ms)
	if err := create(old.st, "before"); err != nil {
		t.Fatal(err)
	}
	var rest []*member
	for _, m := range ms {
		waitTask(t, m.st, "before")
		if m != old {
			rest = append(rest, m)
		}
	}

	// Every millisecond from the cut: how many members say they lead.
	var twoLeaders atomic.Int64
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(time.Millisecond):
			}
			leaders := 0
			for _, m := range ms {
				if m.rep.IsLeader() {
					leaders++
				}
			}
			if leaders > 1 {
				twoLeaders.Add(1)
			}
		}
	}()

	cut := time.Now()
	n.isolate(old.addr)
	cutOff := make(chan error, 1)
	go func() { cutOff <- create(old.st, "cut-off") }() // no majority can take it

	l2 := leaderOf(t, rest)
	for deadline := time.Now().Add(10 * time.Second); old.rep.IsLeader(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the leader cut off still leads after 10 s")
		}
	}
	if err := <-cutOff; !errors.Is(err, store.ErrReplicated) {
		t.Fatalf("a write to the leader cut off: %v, want ErrReplicated", err)
	}
	if err := create(old.st, "cut-off-later"); !errors.Is(err, store.ErrReplicated) {
		t.Fatalf("a write to the deposed leader: %v, want ErrReplicated", err)
	}
	if err := create(l2.st, "after"); err != nil {
		t.Fatal(err)
	}
	close(stopPoll)
	<-polled

	h.mu.Lock()
	down, okDown := first(h.changes, cut, old.addr, raft.Follower)
	up, okUp := first(h.changes, cut, l2.addr, raft.Leader)
	told, okTold := first(h.notices, cut, old.addr, raft.Follower)
	h.mu.Unlock()
	if !okDown || !okUp || !okTold {
		t.Fatalf("state changes not seen: the old leader's step-down %v, its notice %v, the new leader's election %v", okDown, okTold, okUp)
	}
	ms1 := func(at time.Time) string { return fmt.Sprintf("%.0f ms", float64(at.Sub(cut).Microseconds())/1000) }
	t.Logf("cut off at 0: the old leader stepped down at %s (its LeaderCh said so at %s); %s elected at %s (term %d)",
		ms1(down), ms1(told), l2.addr, ms1(up), l2.rep.Status().Term)
	if !down.Before(up) {
		t.Errorf("the old leader stepped down at %s, after the new one was elected at %s: two leaders", ms1(down), ms1(up))
	}
	if !told.Before(up) {
		t.Errorf("the old leader's member was told it no longer leads at %s, after the new one was elected at %s", ms1(told), ms1(up))
	}
	if k := twoLeaders.Load(); k > 0 {
		t.Errorf("two members led at once in %d polls", k)
	}

	// Healed, the old leader follows the new one and catches up.
	n.heal()
	waitTask(t, old.st, "after")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		l := leaderOf(t, ms)
		st, lst := old.rep.Status(), l.rep.Status()
		if old != l && st.State == "follower" && st.Leader == l.addr && st.Applied == lst.Applied && applied(ms) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healed, the old leader did not catch up as a follower: %+v; the leader's %+v", st, lst)
		}
	}
	st := old.rep.Status()
	t.Logf("healed: %s follows %s in term %d, all %d entries applied", old.addr, st.Leader, st.Term, st.Applied)
	want := dump(t, l2.st)
	for _, m := range ms {
		if got := dump(t, m.st); !maps.Equal(got, want) {
			t.Errorf("the store of %s differs from the leader's: %d keys, %d keys", m.addr, len(got), len(want))
		}
		for _, id := range []string{"cut-off", "cut-off-later"} {
			if _, err := m.st.Task(id); err == nil {
				t.Errorf("%s holds %s, which no majority took", m.addr, id)
			}
		}
	}
}

// applied reports whether every member has applied the same entries.
func applied(ms []*member) bool {
	var idx []uint64
	for _, m := range ms {
		idx = append(idx, m.rep.Status().Applied)
	}
	return len(slices.Compact(idx)) == 1
}
