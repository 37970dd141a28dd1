package replica

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// member is one member of a test's group: its store and replica, which
// stop and start again on the same or an empty directory.
type member struct {
	addr, dir string
	stream    raft.StreamLayer // nil: TCP on addr; else started once
	st        *store.Store
	rep       *Replica
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start opens the member's store and replica. Its log starts a segment
// every 4 KiB, so cutting the log deletes files, and a member that comes
// back empty after a cut can only catch up from a snapshot.
func (m *member) start(t *testing.T, peers []string) {
	t.Helper()
	st, err := store.Open(filepath.Join(m.dir, "gateway.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Open(Config{Dir: filepath.Join(m.dir, "raft"), Bind: m.addr, Peers: peers, Store: st, Stream: m.stream, SnapshotEvery: 16, SegmentSize: 4096})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	m.st, m.rep = st, rep
}

func (m *member) stop() {
	if m.rep != nil {
		m.rep.Close()
		m.st.Close()
		m.rep, m.st = nil, nil
	}
}

func group(t *testing.T, n int) []*member {
	t.Helper()
	var peers []string
	ms := make([]*member, n)
	for i := range ms {
		ms[i] = &member{addr: freeAddr(t), dir: t.TempDir()}
		peers = append(peers, ms[i].addr)
	}
	for _, m := range ms {
		m.start(t, peers)
		t.Cleanup(m.stop)
	}
	return ms
}

// leaderOf waits for one of ms to lead, and returns it.
func leaderOf(t *testing.T, ms []*member) *member {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range ms {
			if m.rep != nil && m.rep.IsLeader() {
				return m
			}
		}
	}
	t.Fatal("no leader after 10 s")
	return nil
}

func create(st *store.Store, id string) error {
	return st.CreateTask(task.New(task.Spec{ID: id, Repeats: 1, Module: fmt.Sprintf("%064d", 0)}, time.Unix(1, 0)).Clone())
}

// waitTask waits until st holds task id.
func waitTask(t *testing.T, st *store.Store, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := st.Task(id); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s never reached the store", id)
		}
	}
}

// Three members: the leader's writes reach every store; a follower's are
// refused; with the leader gone the other two elect one and take writes;
// a member that comes back on an empty disk catches up from a snapshot;
// a leader left alone takes no write.
func TestGroup(t *testing.T) {
	ms := group(t, 3)
	l := leaderOf(t, ms)
	for i := range 40 { // past SnapshotEvery: the log is cut
		if err := create(l.st, fmt.Sprint("t", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.st.AppendLogs("t0", 1<<20, task.LogEntry{Seq: 1, Stream: "stdout", Data: "once\n"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitTask(t, m.st, "t39")
		if m != l {
			if err := create(m.st, "on-a-follower"); !errors.Is(err, store.ErrReplicated) {
				t.Fatalf("a follower's write: %v", err)
			}
		}
	}
	if st := l.rep.Status(); st.State != "leader" || st.Leader != l.addr || st.Self != l.addr || len(st.Members) != 3 || st.Applied == 0 {
		t.Fatalf("the leader's status: %+v", st)
	}

	// The leader snapshots and cuts its log, so a member that comes back
	// empty below can only catch up from a snapshot.
	for deadline := time.Now().Add(10 * time.Second); l.rep.raft.Stats()["last_snapshot_index"] == "0"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot after 40 entries")
		}
	}

	l.stop() // the leader goes
	var rest []*member
	for _, m := range ms {
		if m != l {
			rest = append(rest, m)
		}
	}
	l2 := leaderOf(t, rest)
	if err := create(l2.st, "after-failover"); err != nil {
		t.Fatal(err)
	}
	for _, m := range rest {
		waitTask(t, m.st, "after-failover")
	}

	// A member restarted on its own disk makes its store again from the
	// snapshot and the log: nothing is applied twice.
	f := rest[0]
	if f == l2 {
		f = rest[1]
	}
	f.stop()
	f.start(t, []string{ms[0].addr, ms[1].addr, ms[2].addr})
	waitTask(t, f.st, "after-failover")
	if logs, err := f.st.Logs("t0"); err != nil || len(logs) != 1 {
		t.Fatalf("the log of t0 on a restarted member: %v %+v", err, logs)
	}

	// The old leader comes back on an empty disk, as a new machine would.
	l.dir = t.TempDir()
	l.start(t, []string{ms[0].addr, ms[1].addr, ms[2].addr})
	waitTask(t, l.st, "after-failover")
	waitTask(t, l.st, "t0")
	if l.rep.raft.Stats()["last_snapshot_index"] == "0" {
		t.Fatal("the empty member caught up without a snapshot")
	}

	// A leader left alone steps down and takes no write.
	l3 := leaderOf(t, ms)
	for _, m := range ms {
		if m != l3 {
			m.stop()
		}
	}
	if err := create(l3.st, "alone"); !errors.Is(err, store.ErrReplicated) {
		t.Fatalf("a leader without its majority took a write: %v", err)
	}
	if _, err := l3.st.Task("alone"); err == nil {
		t.Fatal("a write without a majority was stored")
	}
}

// A member started to join is added by the leader, gets the group's
// writes, and is removed again; bad changes are refused, naming why.
func TestMembership(t *testing.T) {
	ms := group(t, 3)
	l := leaderOf(t, ms)
	if err := create(l.st, "before"); err != nil {
		t.Fatal(err)
	}
	n := &member{addr: freeAddr(t), dir: t.TempDir()}
	st, err := store.Open(filepath.Join(n.dir, "gateway.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Open(Config{Dir: filepath.Join(n.dir, "raft"), Bind: n.addr, Join: true, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	n.st, n.rep = st, rep
	t.Cleanup(n.stop)

	for _, bad := range []struct {
		addr string
		code api.Code
	}{{"nowhere", api.CodeInvalid}, {l.addr, api.CodeConflict}} {
		if _, err := l.rep.AddMember(bad.addr); !errors.Is(err, &api.Error{Code: bad.code}) {
			t.Fatalf("add %q: %v, want %s", bad.addr, err, bad.code)
		}
	}
	info, err := l.rep.AddMember(n.addr)
	if err != nil || len(info.Members) != 4 {
		t.Fatalf("add: %v %+v", err, info)
	}
	waitTask(t, n.st, "before")
	if err := create(l.st, "after"); err != nil {
		t.Fatal(err)
	}
	waitTask(t, n.st, "after")
	if _, err := l.rep.RemoveMember("127.0.0.1:1"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("remove a stranger: %v", err)
	}
	if info, err := l.rep.RemoveMember(n.addr); err != nil || len(info.Members) != 3 {
		t.Fatalf("remove: %v %+v", err, info)
	}
}

// A member keeps the kind of log it was made with: restarted without a
// kind it opens the same log again (in this process, so every file of it
// was let go), and naming the other kind is refused, as is a directory
// that holds both.
func TestLogKinds(t *testing.T) {
	if err := (Config{Dir: "d", Bind: "127.0.0.1:1", Peers: []string{"127.0.0.1:1"}, Store: &store.Store{}, Log: "zip"}).Validate(); err == nil || !strings.Contains(err.Error(), `raft-log: "zip" is not a kind of log`) {
		t.Fatalf("a bad kind: %v", err)
	}
	for _, kind := range []string{LogWAL, LogBolt} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t)
			open := func(log string) (*store.Store, *Replica, error) {
				st, err := store.Open(filepath.Join(dir, "gateway.db"), store.Options{NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Open(Config{Dir: filepath.Join(dir, "raft"), Log: log, Bind: addr, Peers: []string{addr}, Store: st})
				if err != nil {
					st.Close()
				}
				return st, rep, err
			}
			st, rep, err := open(kind)
			if err != nil {
				t.Fatal(err)
			}
			leaderOf(t, []*member{{st: st, rep: rep}})
			if err := create(st, "kept"); err != nil {
				t.Fatal(err)
			}
			rep.Close()
			st.Close()

			other := map[string]string{LogWAL: LogBolt, LogBolt: LogWAL}[kind]
			if _, _, err := open(other); err == nil || !strings.Contains(err.Error(), "holds a "+kind+" log, not a "+other+" one") {
				t.Fatalf("the other kind: %v", err)
			}
			st, rep, err = open("")
			if err != nil {
				t.Fatal(err)
			}
			waitTask(t, st, "kept")
			rep.Close()
			st.Close()
			if k, err := HasLog(filepath.Join(dir, "raft")); k != kind || err != nil {
				t.Fatalf("HasLog: %q %v, want %q", k, err, kind)
			}

			// The other kind's file beside it: which log is this
			// member's is not for Open to guess.
			f := filepath.Join(dir, "raft", logFiles[other])
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := open(""); err == nil || !strings.Contains(err.Error(), "holds both a wal and a bolt log") {
				t.Fatalf("both kinds: %v", err)
			}
		})
	}
	if k, err := HasLog(t.TempDir()); k != "" || err != nil {
		t.Fatalf("HasLog of an empty directory: %q %v", k, err)
	}
}

// The entries kept in memory are the log's newest small ones: a large
// one is read from the log, and a deletion forgets them all.
func TestRecent(t *testing.T) {
	dir := t.TempDir()
	logs, err := openLog(Config{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	c := newRecent(logs)
	if !c.IsMonotonic() {
		t.Fatal("a wal log in front of the cache is not monotonic")
	}
	big := make([]byte, recentMaxEntry+1)
	if err := c.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Data: []byte("a")}, {Index: 2, Term: 1, Data: big}, {Index: 3, Term: 1, Data: []byte("c")}}); err != nil {
		t.Fatal(err)
	}
	if c.ring[1] == nil || c.ring[2] != nil || c.ring[3] == nil {
		t.Fatalf("kept: %v %v %v, want the small ones only", c.ring[1] != nil, c.ring[2] != nil, c.ring[3] != nil)
	}
	for i, want := range []int{1, len(big), 1} {
		var l raft.Log
		if err := c.GetLog(uint64(i+1), &l); err != nil || len(l.Data) != want {
			t.Fatalf("entry %d: %v, %d bytes, want %d", i+1, err, len(l.Data), want)
		}
	}
	if err := c.DeleteRange(3, 3); err != nil {
		t.Fatal(err)
	}
	if c.ring[1] != nil {
		t.Fatal("an entry kept after a deletion")
	}
	var l raft.Log
	if err := c.GetLog(3, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("a deleted entry: %v", err)
	}
	if err := c.GetLog(1, &l); err != nil || string(l.Data) != "a" {
		t.Fatalf("entry 1 from the log: %v %q", err, l.Data)
	}
}
