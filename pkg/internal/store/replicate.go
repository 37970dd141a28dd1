package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// A replicated store (docs/HA.md) writes through a consensus engine: the
// committer's batch of commands becomes one entry of a replicated log
// (Replicator), and every member's store, the writer's included, applies
// the entry when the log commits it (ApplyEntry). Commands carry all they
// need and the store uses no clock, so every member stores the same keys
// and values.
//
// Every member applies the commands as decoded from the entry, the
// writer too; what they find out for their caller (a taken id, the bytes
// purged) goes back to the writer's own command values while its caller
// waits.

// Replicator sends an entry to a store's peers and returns once the log
// has committed it and this store has applied it, with what ApplyEntry
// returned for it. An error means the entry may or may not be committed:
// this member cannot tell (it is not the leader, or it lost its majority).
type Replicator func(entry []byte) (any, error)

func init() {
	for _, c := range []command{
		&createTasksCmd{}, &saveRunsCmd{}, &cancelTaskCmd{}, &appendLogsCmd{}, &putModuleCmd{},
		&deleteTasksCmd{}, &saveStepsCmd{}, &putFilesCmd{}, &addCallbackCmd{}, &nameModuleCmd{}, &putBundleCmd{},
		&setLeaderCmd{}, &setJoinSecretCmd{},
	} {
		gob.Register(c)
	}
}

// entry is a batch of commands as the log holds it.
type entry struct {
	Version uint8  // entryVersion: a member that reads another stops
	ID      uint64 // the writer's: its pending batch
	Cmds    []command
}

// entryVersion is the version of the log's entries: bump it when a
// command is added or changes, so that a member of an older binary stops
// at the first entry it cannot apply rather than skip it.
const entryVersion = 1

// pending are the batches this store wrote that the log has not applied
// yet, by entry ID.
type pending struct {
	mu      sync.Mutex
	batches map[uint64][]command
	next    atomic.Uint64
}

// resulter is a command that finds something out for its caller: a
// writer's command takes it from the copy the log applied.
type resulter interface {
	takeResult(applied command)
}

func (c *createTasksCmd) takeResult(a command) { c.failed = a.(*createTasksCmd).failed }
func (c *deleteTasksCmd) takeResult(a command) { c.freed = a.(*deleteTasksCmd).freed }

// ErrReplicated is a write's error when the store could not get it into
// the replicated log: the member is not the leader, or lost its majority.
var ErrReplicated = errors.New("not replicated")

// SetReplicator makes every write of s go through r (nil: writes are
// local again). Set it before the first write.
func (s *Store) SetReplicator(r Replicator) {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	s.commit.replicate = r
	if s.commit.pending == nil {
		var seed [8]byte
		_, _ = rand.Read(seed[:]) // ids of two members' batches never meet
		s.commit.pending = &pending{batches: map[uint64][]command{}}
		s.commit.pending.next.Store(binary.BigEndian.Uint64(seed[:]) >> 1)
	}
}

// replicated commits batch through c.replicate.
func (c *committer) replicated(batch []*call) {
	cmds := make([]command, len(batch))
	for i, cl := range batch {
		cmds[i] = cl.cmd
	}
	p := c.pending
	id := p.next.Add(1)
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(entry{Version: entryVersion, ID: id, Cmds: cmds})
	if err == nil {
		p.mu.Lock()
		p.batches[id] = cmds
		p.mu.Unlock()
		var res any
		res, err = c.replicate(buf.Bytes())
		p.mu.Lock()
		delete(p.batches, id)
		p.mu.Unlock()
		if errs, ok := res.([]error); ok && err == nil && len(errs) == len(batch) {
			for i, cl := range batch {
				cl.done <- errs[i]
			}
			return
		}
		if applyErr, ok := res.(error); ok && err == nil { // the transaction's own
			for _, cl := range batch {
				cl.done <- applyErr
			}
			return
		}
		if err == nil {
			err = fmt.Errorf("the log applied the batch as %T", res)
		}
	}
	err = fmt.Errorf("%w: %w", ErrReplicated, err)
	for _, cl := range batch {
		cl.done <- err
	}
}

// ApplyEntry applies the entry at index of the replicated log: its
// commands in one transaction, as the committer does, with the index
// (Applied), and returns each one's error
// ([]error), or an error of the whole: then nothing of it was stored, and
// the member must stop (its store would no longer match its peers'; it
// is made again from the log when it starts).
func (s *Store) ApplyEntry(index uint64, data []byte) any {
	var e entry
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
		return fmt.Errorf("%w: a log entry this binary cannot read (a newer member's?): %v", ErrCorrupt, err)
	}
	if e.Version != entryVersion {
		return fmt.Errorf("%w: a log entry of version %d; this binary applies version %d", ErrCorrupt, e.Version, entryVersion)
	}
	errs, err := s.commit.apply(append(e.Cmds[:len(e.Cmds):len(e.Cmds)], appliedCmd(index)))
	if err != nil {
		return err
	}
	errs = errs[:len(e.Cmds)]
	s.applied.Store(index)
	if p := s.commit.pending; p != nil {
		// What the commands found out, for this store's callers that
		// still wait on them (one whose write failed has gone).
		p.mu.Lock()
		if local, ok := p.batches[e.ID]; ok && len(local) == len(e.Cmds) {
			for i, c := range local {
				if r, ok := c.(resulter); ok {
					r.takeResult(e.Cmds[i])
				}
			}
		}
		p.mu.Unlock()
	}
	return errs
}

// appliedCmd records the index of the entry applied with it.
type appliedCmd uint64

func (c appliedCmd) apply(tx *bolt.Tx) error {
	return tx.Bucket(bucketMeta).Put(keyApplied, u64(uint64(c)))
}

// Applied is the index of the last entry of the replicated log the store
// holds: of the last ApplyEntry, or of the snapshot it was restored from
// (0 for a store alone). Its reads are as fresh as it.
func (s *Store) Applied() uint64 { return s.applied.Load() }

// loadApplied reads Applied back from the file.
func (s *Store) loadApplied() error {
	return s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyApplied)
		if len(v) == 8 {
			s.applied.Store(binary.BigEndian.Uint64(v))
		} else {
			s.applied.Store(0)
		}
		return nil
	})
}

// apply runs cmds in one transaction: a command that fails is taken out
// with its error and the others run again without it (each before it saw
// the same state, so the error stands). It returns each command's error
// and the transaction's own, which is the error of the commands that did
// not fail on their own.
func (c *committer) apply(cmds []command) ([]error, error) {
	errs := make([]error, len(cmds))
	live := make([]int, len(cmds))
	for i := range live {
		live[i] = i
	}
	for {
		failed := -1
		err := update(c.db, func(tx *bolt.Tx) error {
			for j, i := range live {
				if err := cmds[i].apply(tx); err != nil {
					failed = j
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			c.space.committed(err, len(live))
			return errs, err
		}
		errs[live[failed]] = err
		live = append(live[:failed:failed], live[failed+1:]...)
	}
}

// Snapshot writes the whole store to w, as of one moment, while writes go
// on: a replicated log's snapshot, from which Restore makes a member's
// store again.
func (s *Store) Snapshot(w io.Writer) error {
	snap, err := s.BeginSnapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	return snap.Write(w)
}

// A SnapshotTx is the store as of BeginSnapshot, to be written later
// while writes go on (a log's snapshot must hold exactly the entries
// applied when it was taken). Release it once written: until then the
// file keeps the pages it reads.
type SnapshotTx struct{ tx *bolt.Tx }

// BeginSnapshot holds the store as it is now.
func (s *Store) BeginSnapshot() (*SnapshotTx, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &SnapshotTx{tx: tx}, nil
}

// Write writes the store as it was held.
func (t *SnapshotTx) Write(w io.Writer) (err error) {
	defer recoverCorrupt(&err)
	_, err = t.tx.WriteTo(w)
	return err
}

// Release lets go of the store as it was held.
func (t *SnapshotTx) Release() { _ = t.tx.Rollback() }

// Restore makes the store a copy of the snapshot r (Snapshot): every
// bucket is replaced, in one transaction.
func (s *Store) Restore(r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".snapshot-*")
	if err != nil {
		return fmt.Errorf("restore a snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore a snapshot: %w", err)
	}
	snap, err := openBolt(tmp.Name(), &bolt.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("restore a snapshot: %w: %w", ErrCorrupt, err)
	}
	defer snap.Close()
	err = snap.View(func(from *bolt.Tx) error {
		return update(s.db, func(to *bolt.Tx) error {
			if err := deleteBuckets(to); err != nil {
				return err
			}
			return from.ForEach(func(name []byte, b *bolt.Bucket) error {
				nb, err := to.CreateBucket(name)
				if err != nil {
					return err
				}
				return copyBucket(nb, b)
			})
		})
	})
	if err != nil {
		return err
	}
	return s.loadApplied()
}

// Reset empties the store: a member's store is rebuilt from the group's
// snapshot and log each time it starts, so what it held before is
// dropped rather than applied to twice.
func (s *Store) Reset() error {
	err := update(s.db, func(tx *bolt.Tx) error {
		if err := deleteBuckets(tx); err != nil {
			return err
		}
		return initBuckets(tx)
	})
	s.applied.Store(0)
	return err
}

// Empty reports whether the store holds nothing but its layout.
func (s *Store) Empty() bool {
	empty := true
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !bytes.Equal(name, bucketMeta) {
				if k, _ := b.Cursor().First(); k != nil {
					empty = false
				}
			}
			return nil
		})
	})
	return err == nil && empty
}

func deleteBuckets(tx *bolt.Tx) error {
	var names [][]byte
	if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, append([]byte(nil), name...))
		return nil
	}); err != nil {
		return err
	}
	for _, name := range names {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// copyBucket copies the keys, nested buckets and sequence of from into
// to.
func copyBucket(to, from *bolt.Bucket) error {
	if err := to.SetSequence(from.Sequence()); err != nil {
		return err
	}
	return from.ForEach(func(k, v []byte) error {
		if v != nil {
			return to.Put(k, v)
		}
		nb, err := to.CreateBucket(k)
		if err != nil {
			return err
		}
		return copyBucket(nb, from.Bucket(k))
	})
}

// keyLeader holds the group's leader as it announced itself (meta).
var keyLeader = []byte("leader")

// Leader is a replicated group's leader as it announced itself on taking
// office: where its members send what they do not serve.
type Leader struct {
	Raft string `json:"raft"` // its Raft address
	HTTP string `json:"http"` // its HTTP API's base URL
	Term uint64 `json:"term"`
}

// setLeaderCmd records the group's leader (SetLeader).
type setLeaderCmd struct{ Leader Leader }

func (c *setLeaderCmd) apply(tx *bolt.Tx) error {
	v, err := json.Marshal(c.Leader)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyLeader, v)
}

// SetLeader records l as the group's leader, through the log.
func (s *Store) SetLeader(l Leader) error {
	if err := s.commit.do(&setLeaderCmd{l}); err != nil {
		return fmt.Errorf("record the leader: %w", err)
	}
	return nil
}

// Leader returns the group's leader as last recorded; ErrNotFound before
// any.
func (s *Store) Leader() (Leader, error) {
	var l Leader
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyLeader)
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &l)
	})
	return l, err
}

// keyJoinSecret holds a replicated group's join secret (meta): every
// member's gateway admits the workers that prove it.
var keyJoinSecret = []byte("join-secret")

// setJoinSecretCmd records the group's join secret unless it has one.
type setJoinSecretCmd struct{ Secret []byte }

func (c *setJoinSecretCmd) apply(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m.Get(keyJoinSecret) != nil {
		return nil
	}
	return m.Put(keyJoinSecret, c.Secret)
}

// InitJoinSecret records secret as the group's join secret, through the
// log, unless the group has one; JoinSecret then returns the one kept.
func (s *Store) InitJoinSecret(secret []byte) error {
	if err := s.commit.do(&setJoinSecretCmd{secret}); err != nil {
		return fmt.Errorf("record the join secret: %w", err)
	}
	return nil
}

// JoinSecret returns the group's join secret; ErrNotFound before any.
func (s *Store) JoinSecret() ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyJoinSecret)
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}
