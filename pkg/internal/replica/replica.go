// Package replica makes a gateway one member of a replicated group
// (docs/HA.md): its store's writes go through a Raft log (hashicorp/raft,
// its log and stable store in raft-wal, or in raft-boltdb when a member is
// told so), every member applies the log
// to its own store, and one member, the leader, is the gateway that
// accepts writes and dispatches. The consensus is hashicorp/raft's; this
// package only wires it to the store (the FSM) and says who leads.
package replica

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// Config is one member of a group.
type Config struct {
	// Dir holds the member's Raft log, its term and vote, and its
	// snapshots (DATA/raft).
	Dir string
	// Log is the kind of log a new member keeps in Dir: LogWAL (the
	// default) or LogBolt. A member with a log already keeps its kind;
	// one that names the other kind is refused.
	Log string
	// SegmentSize is the size at which a LogWAL log starts a new segment
	// file (0: raft-wal's DefaultSegmentSize, 64 MiB). The log is cut a
	// whole segment at a time, so a member's log holds at most about
	// TrailingLogs entries and one segment. Tests make it small to see
	// the log cut.
	SegmentSize int
	// Bind is the member's Raft address, HOST:PORT; it is also its ID.
	Bind string
	// Peers are every member's Raft address, Bind included: the group
	// forms when a majority of them is up.
	Peers []string
	// Join makes the member wait to be added to a group that runs (POST
	// /raft/members on its leader) instead of forming one with Peers.
	Join bool
	// Store is the member's store, which the log is applied to.
	Store *store.Store
	// Timeouts is Raft's heartbeat and election timeout: a follower
	// that has heard nothing from the leader for that long stands for
	// election. The leader lease is half of it: a leader that has not
	// reached a majority for that long steps down, before the others
	// may elect another. 0: DefaultTimeouts.
	Timeouts time.Duration
	// Stream carries the transport's connections between members, and
	// must listen on Bind (nil: TCP on Bind). Tests pass one that can
	// cut members off.
	Stream raft.StreamLayer
	// SnapshotEvery is how many entries are applied between snapshots
	// (0: 8192); the log is cut to TrailingLogs after each.
	SnapshotEvery uint64
	// Logger receives Raft's warnings and errors.
	Logger *slog.Logger
	// Stop is called when the member cannot apply an entry of the log
	// (a full disk, an entry of a newer binary): it must stop, and comes
	// back from the log once the cause is mended; a member that went on
	// would hold another store than its group's. nil: panic.
	Stop func(error)
}

// DefaultTimeouts is Config.Timeouts unless set: half of hashicorp/raft's
// defaults (1 s, what Nomad and Consul run with raft_multiplier 1), for
// members on one LAN. A leader killed is replaced 0.5 to 1.5 s later, and
// a leader cut off steps down about 250 ms before the others can stand
// for election (docs/RATIONALE.md, "Why this Raft timing?").
const DefaultTimeouts = 500 * time.Millisecond

// minTimeouts is the least Config.Timeouts: hashicorp/raft refuses a
// lease under 5 ms.
const minTimeouts = 10 * time.Millisecond

// The kinds of log (Config.Log).
const (
	// LogWAL is hashicorp/raft-wal: segment files appended to, one fsync
	// per append; Consul's log store.
	LogWAL = "wal"
	// LogBolt is hashicorp/raft-boltdb: a bbolt file, two fsyncs per
	// append (a group on one disk takes a fifth fewer submits with it
	// than with LogWAL; docs/BENCHMARKS.md).
	LogBolt = "bolt"
)

// CheckLog names what is wrong with kind as Config.Log ("" is the
// default).
func CheckLog(kind string) error {
	if kind != "" && logFiles[kind] == "" {
		return fmt.Errorf("raft-log: %q is not a kind of log: %s or %s", kind, LogWAL, LogBolt)
	}
	return nil
}

// The files that tell a kind of log in Dir.
var logFiles = map[string]string{LogWAL: filepath.Join("wal", metadb.FileName), LogBolt: "raft.db"}

// ApplyTimeout bounds a write's wait for the log.
const ApplyTimeout = 10 * time.Second

// Replica is a running member.
type Replica struct {
	raft   *raft.Raft
	cfg    Config
	logs   logStore
	trans  *raft.NetworkTransport
	leader chan bool
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := CheckLog(c.Log); err != nil {
		return err
	}
	switch {
	case c.Dir == "":
		return errors.New("raft: the data directory is required")
	case c.Store == nil:
		return errors.New("raft: the store is required")
	case c.Timeouts != 0 && c.Timeouts < minTimeouts:
		return fmt.Errorf("raft: timeouts of %s: at least %s", c.Timeouts, minTimeouts)
	case c.Join:
		if len(c.Peers) > 0 {
			return errors.New("peers: a member that joins a running group takes its members from it: leave --peers out")
		}
		if _, _, err := net.SplitHostPort(c.Bind); err != nil {
			return fmt.Errorf("raft: %q is not HOST:PORT", c.Bind)
		}
		return nil
	case len(c.Peers) < 1:
		return errors.New("peers: every member's Raft address, this one's included")
	case !slices.Contains(c.Peers, c.Bind):
		return fmt.Errorf("peers: %s, this member's --raft address, is not among them (%s)", c.Bind, strings.Join(c.Peers, ","))
	}
	for _, p := range append([]string{c.Bind}, c.Peers...) {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return fmt.Errorf("peers: %q is not HOST:PORT", p)
		}
	}
	if n := len(c.Peers); n%2 == 0 {
		return fmt.Errorf("peers: %d members: a group of an even number tolerates no more failures than one fewer; use 3 or 5", n)
	}
	return nil
}

// Open starts the member: it replays its log onto the store (from its
// latest snapshot), and, when it has no state yet, bootstraps the group
// with Peers as its members (every member does, with the same list:
// hashicorp/raft takes that as one configuration).
func Open(cfg Config) (*Replica, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{cfg.Logger}})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.Bind)
	rc.Logger = hl
	t := cmp.Or(cfg.Timeouts, DefaultTimeouts)
	rc.HeartbeatTimeout, rc.ElectionTimeout = t, t
	rc.LeaderLeaseTimeout = t / 2
	rc.CommitTimeout = min(rc.CommitTimeout, t/10)
	if cfg.SnapshotEvery > 0 {
		rc.SnapshotThreshold = cfg.SnapshotEvery
		rc.TrailingLogs = cfg.SnapshotEvery
		rc.SnapshotInterval = time.Second
	}
	leader := make(chan bool, 16)
	rc.NotifyCh = leader

	logs, err := openLog(cfg, hl)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hl)
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("raft snapshots: %w", err)
	}
	trans, err := transport(cfg, hl)
	if err != nil {
		logs.Close()
		return nil, err
	}
	has, err := raft.HasExistingState(logs, logs, snaps)
	switch {
	case err != nil:
	case has:
		// The snapshot and the log make the store again, from empty:
		// entries it held already would be applied twice.
		err = cfg.Store.Reset()
	case !cfg.Store.Empty():
		err = errors.New("this member's store holds tasks or modules from before the group: a new group's members start on empty data directories (--data)")
	}
	if err == nil && !has && !cfg.Join {
		var servers []raft.Server
		for _, p := range cfg.Peers {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p), Address: raft.ServerAddress(p)})
		}
		err = raft.BootstrapCluster(rc, logs, logs, snaps, trans, raft.Configuration{Servers: servers})
	}
	if err != nil {
		trans.Close()
		logs.Close()
		return nil, fmt.Errorf("raft: bootstrap: %w", err)
	}
	stop := cfg.Stop
	if stop == nil {
		stop = func(err error) { panic(err) }
	}
	rep := &Replica{cfg: cfg, logs: logs, trans: trans, leader: leader}
	cfg.Store.SetReplicator(rep.replicate) // before the first entry is applied
	r, err := raft.NewRaft(rc, &fsm{st: cfg.Store, stop: stop}, newRecent(logs), logs, snaps, trans)
	if err != nil {
		trans.Close()
		logs.Close()
		return nil, fmt.Errorf("raft: %w", err)
	}
	rep.raft = r
	return rep, nil
}

// logStore is a member's Raft log and its term and vote.
type logStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// HasLog returns the kind of Raft log dir (a member's Config.Dir)
// holds: LogWAL, LogBolt, or "" when it holds none yet.
func HasLog(dir string) (string, error) {
	var found []string
	for _, kind := range []string{LogWAL, LogBolt} {
		switch _, err := os.Stat(filepath.Join(dir, logFiles[kind])); {
		case err == nil:
			found = append(found, kind)
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("raft-log: %w", err)
		}
	}
	if len(found) > 1 {
		return "", fmt.Errorf("raft-log: %s holds both a %s and a %s log: keep the one this member ran with and move the other away", dir, found[0], found[1])
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

// openLog opens the log in cfg.Dir: the kind it holds, or cfg.Log's for
// a new member.
func openLog(cfg Config, hl hclog.Logger) (logStore, error) {
	kind, err := HasLog(cfg.Dir)
	switch {
	case err != nil:
		return nil, err
	case kind == "":
		kind = cmp.Or(cfg.Log, LogWAL)
	case cfg.Log != "" && cfg.Log != kind:
		return nil, fmt.Errorf("raft-log: %s holds a %s log, not a %s one: this member keeps its log's kind (leave out --raft-log, or start it on an empty data directory and let it catch up)", cfg.Dir, kind, cfg.Log)
	}
	if kind == LogBolt {
		logs, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, logFiles[LogBolt]))
		if err != nil {
			return nil, fmt.Errorf("raft log: %w", err)
		}
		return logs, nil
	}
	dir := filepath.Join(cfg.Dir, "wal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	// The meta file is given, so that it is closed when Open fails
	// (WAL.Close closes it once the log is open).
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithLogger(hl), wal.WithSegmentSize(cfg.SegmentSize))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("raft log: %w", err)
	}
	return w, nil
}

// transport is the member's Raft transport: over cfg.Stream, or TCP on
// cfg.Bind.
func transport(cfg Config, hl hclog.Logger) (*raft.NetworkTransport, error) {
	tc := &raft.NetworkTransportConfig{Stream: cfg.Stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: hl}
	if cfg.Stream != nil {
		return raft.NewNetworkTransportWithConfig(tc), nil
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("raft: %s: %w", cfg.Bind, err)
	}
	trans, err := raft.NewTCPTransportWithConfig(cfg.Bind, addr, tc)
	if err != nil {
		return nil, fmt.Errorf("raft: listen on %s: %w", cfg.Bind, err)
	}
	return trans, nil
}

// replicate is the store's Replicator: the entry through the log.
func (r *Replica) replicate(entry []byte) (any, error) {
	f := r.raft.Apply(entry, ApplyTimeout)
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Response(), nil
}

// LeaderCh tells of this member's leadership as it changes: true when it
// becomes the leader, false when it stops being it.
func (r *Replica) LeaderCh() <-chan bool { return r.leader }

// IsLeader reports whether this member leads now.
func (r *Replica) IsLeader() bool { return r.raft.State() == raft.Leader }

// Applied is the index of the last entry applied to the store, without
// the wait for Raft's loop that Status makes: the store's own record of
// it (store.Applied), written with the entry and carried by snapshots.
// Raft's AppliedIndex moves when Raft hands entries to the FSM, before
// the store has them, and a follower's page tagged with it could be
// answered 304 later with the entry's change left out.
func (r *Replica) Applied() uint64 { return r.cfg.Store.Applied() }

// Barrier returns once every entry committed before it is applied to the
// store: a new leader's store is then all the group promised.
func (r *Replica) Barrier(timeout time.Duration) error { return r.raft.Barrier(timeout).Error() }

// Status returns the member's view of its group now, as GET /info shows
// it (without the leader's API, which the store holds).
func (r *Replica) Status() api.RaftInfo {
	// The leader's ID, which is its Raft address as the group was given
	// it (--raft, --peers): the address LeaderWithID returns is the one
	// its transport advertises, resolved (a host name's IP), which
	// matches neither Self nor Members when members are named by host.
	_, leader := r.raft.LeaderWithID()
	st := api.RaftInfo{
		State: strings.ToLower(r.raft.State().String()), Leader: string(leader),
		Term: r.raft.CurrentTerm(), Applied: r.Applied(), Self: r.cfg.Bind, Members: []string{},
	}
	if f := r.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Members = append(st.Members, string(s.Address))
		}
	}
	return st
}

// memberTimeout bounds a change of the group's members.
const memberTimeout = 30 * time.Second

// AddMember adds the gateway whose Raft address is addr to the group as a
// voter; it must run with --raft addr --raft-join. Only the leader can,
// one member at a time: the group's majority grows with it, so a new
// member that does not come up costs the group a failure it tolerated.
func (r *Replica) AddMember(addr string) (api.RaftInfo, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return api.RaftInfo{}, api.Invalid("address", "%q is not a Raft address HOST:PORT", addr)
	}
	if slices.Contains(r.Status().Members, addr) {
		return api.RaftInfo{}, api.Errorf(api.CodeConflict, "%s is a member already", addr)
	}
	if err := r.raft.AddVoter(raft.ServerID(addr), raft.ServerAddress(addr), 0, memberTimeout).Error(); err != nil {
		return api.RaftInfo{}, fmt.Errorf("%w: add %s: %v", store.ErrReplicated, addr, err)
	}
	return r.Status(), nil
}

// RemoveMember removes the member whose Raft address is addr from the
// group; removing the leader itself hands the leadership on.
func (r *Replica) RemoveMember(addr string) (api.RaftInfo, error) {
	st := r.Status()
	if !slices.Contains(st.Members, addr) {
		return api.RaftInfo{}, api.Errorf(api.CodeNotFound, "%s is not a member (the members: %s)", addr, strings.Join(st.Members, ", "))
	}
	if len(st.Members) == 1 {
		return api.RaftInfo{}, api.Errorf(api.CodeConflict, "%s is the group's last member", addr)
	}
	if err := r.raft.RemoveServer(raft.ServerID(addr), 0, memberTimeout).Error(); err != nil {
		return api.RaftInfo{}, fmt.Errorf("%w: remove %s: %v", store.ErrReplicated, addr, err)
	}
	return r.Status(), nil
}

// Close stops the member: it leaves the group's work to the others (a
// leader's leadership moves on when its heartbeats stop).
func (r *Replica) Close() error {
	err := r.raft.Shutdown().Error()
	r.trans.Close()
	if cerr := r.logs.Close(); err == nil {
		err = cerr
	}
	return err
}

// fsm applies the log to a store.
type fsm struct {
	st   *store.Store
	stop func(error)
}

func (f *fsm) Apply(l *raft.Log) any {
	res := f.st.ApplyEntry(l.Index, l.Data)
	if err, ok := res.(error); ok {
		// Nothing of the entry was stored here: going on would leave
		// this member's store short of it for good.
		f.stop(fmt.Errorf("raft: entry %d of the log not applied to this member's store, which must stop: %w", l.Index, err))
	}
	return res
}

// Snapshot holds the store as of the last entry applied (no Apply runs
// meanwhile); Persist writes it while the log goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	tx, err := f.st.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return snapshot{tx}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.st.Restore(rc)
}

type snapshot struct{ tx *store.SnapshotTx }

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.tx.Write(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snapshot) Release() { s.tx.Release() }

// slogWriter passes hclog's lines to a slog.Logger.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(b)))
	return len(b), nil
}
