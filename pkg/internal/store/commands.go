package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// The store's writes as values (see command in commit.go): each write
// method makes one and the committer applies it in a transaction; a
// replicated store sends the same values to its peers, which apply them
// to their copies.

// createTasksCmd stores new tasks (CreateTasks).
type createTasksCmd struct {
	Tasks  []createdTask
	Keep   int
	failed string // the id found taken
}

func (c *createTasksCmd) apply(tx *bolt.Tx) error {
	all := c.Tasks
	var failed string
	defer func() { c.failed = failed }()
	ids := tx.Bucket(bucketIDs)
	tasks := tx.Bucket(bucketTasks)
	tasks.FillPercent = appendFill
	for _, p := range all {
		if ids.Get([]byte(p.ID)) != nil {
			failed = p.ID
			return ErrExists
		}
		seq, err := tasks.NextSequence()
		if err != nil {
			return err
		}
		if err := tasks.Put(u64(seq), p.Rec); err != nil {
			return err
		}
		if err := ids.Put([]byte(p.ID), u64(seq)); err != nil {
			return err
		}
		if err := putRuns(tx, seq, p.Runs.encoded(), c.Keep); err != nil {
			return err
		}
	}
	return addCounter(tx.Bucket(bucketMeta), counterTasks, int64(len(all)))
}

// saveRunsCmd stores runs of a task (SaveRuns).
type saveRunsCmd struct {
	ID   string
	Runs runs
	Keep int
}

func (c *saveRunsCmd) apply(tx *bolt.Tx) error {
	id, enc := c.ID, c.Runs.encoded()
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	return putRuns(tx, seq, enc, c.Keep)
}

// cancelTaskCmd marks a task canceled (CancelTask).
type cancelTaskCmd struct {
	ID   string
	At   time.Time
	Runs runs
	Keep int
}

func (c *cancelTaskCmd) apply(tx *bolt.Tx) error {
	id, at, enc := c.ID, c.At, c.Runs.encoded()
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	tasks := tx.Bucket(bucketTasks)
	rec, err := decodeTask(tasks.Get(u64(seq)))
	if err != nil {
		return err
	}
	if !rec.Canceled {
		rec.Canceled, rec.CanceledAt = true, at
		if err := tasks.Put(u64(seq), encodeTask(&rec)); err != nil {
			return err
		}
	}
	return putRuns(tx, seq, enc, c.Keep)
}

// appendLogsCmd adds to a task's log (AppendLogs).
type appendLogsCmd struct {
	ID      string
	Limit   int
	Entries []task.LogEntry
	enc     [][]byte
}

func (c *appendLogsCmd) apply(tx *bolt.Tx) error {
	id, limit, entries, enc := c.ID, c.Limit, c.Entries, c.encoded()
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	return appendLogs(tx, seq, uint64(limit), entries, enc)
}

// putModuleCmd stores a module (PutModule).
type putModuleCmd struct {
	Hash string
	Wasm []byte
}

func (c *putModuleCmd) apply(tx *bolt.Tx) error {
	hash, wasm := c.Hash, c.Wasm
	b := tx.Bucket(bucketModules)
	if b.Get([]byte(hash)) != nil {
		return nil
	}
	if err := b.Put([]byte(hash), wasm); err != nil {
		return err
	}
	return addCounter(tx.Bucket(bucketMeta), counterModules, 1)
}

// deleteTasksCmd removes tasks (DeleteTasks).
type deleteTasksCmd struct {
	IDs   []string
	freed int64 // the bytes of records removed
}

func (c *deleteTasksCmd) apply(tx *bolt.Tx) error {
	ids := c.IDs
	var freed int64
	defer func() { c.freed = freed }()
	freed = 0
	m := tx.Bucket(bucketMeta)
	var tasks, runs int64
	var logBytes int64
	for _, id := range ids {
		seq, err := taskSeq(tx, id)
		if err != nil {
			continue
		}
		key := u64(seq)
		freed += int64(len(tx.Bucket(bucketTasks).Get(key)))
		for _, b := range [][]byte{bucketTasks, bucketResults} {
			if err := tx.Bucket(b).Delete(key); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketIDs).Delete([]byte(id)); err != nil {
			return err
		}
		n, size, err := deletePrefix(tx.Bucket(bucketRuns), key)
		if err != nil {
			return err
		}
		runs += n
		freed += size
		st, err := decodeLogState(tx.Bucket(bucketLogState).Get(key))
		if err != nil {
			return err
		}
		logBytes += int64(st.size)
		if err := tx.Bucket(bucketLogState).Delete(key); err != nil {
			return err
		}
		_, size, err = deletePrefix(tx.Bucket(bucketLogs), key)
		if err != nil {
			return err
		}
		if err := deleteJob(tx, seq); err != nil {
			return err
		}
		freed += size
		tasks++
	}
	for _, c := range []struct {
		key []byte
		n   int64
	}{{counterTasks, tasks}, {counterRuns, runs}, {counterLogBytes, logBytes}} {
		if err := addCounter(m, c.key, -c.n); err != nil {
			return err
		}
	}
	return nil
}

// saveStepsCmd records a job's steps (SaveSteps).
type saveStepsCmd struct {
	ID    string
	Steps map[int]StepRecord
}

func (c *saveStepsCmd) apply(tx *bolt.Tx) error {
	id, steps := c.ID, c.Steps
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bucketSteps)
	if err != nil {
		return err
	}
	for i, r := range steps {
		if err := b.Put(stepKey(seq, i), encodeStep(&r)); err != nil {
			return err
		}
	}
	return nil
}

// putFilesCmd records a job's artifacts (PutFiles).
type putFilesCmd struct {
	ID    string
	Files []Artifact
}

func (c *putFilesCmd) apply(tx *bolt.Tx) error {
	id, files := c.ID, c.Files
	byPath := make(map[string]int, len(files))
	for i, f := range files {
		byPath[f.Path] = i
	}
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	bs, err := blobBuckets(tx)
	if err != nil {
		return err
	}
	if err := bs.drop(seq); err != nil {
		return err
	}
	for i, f := range files {
		if byPath[f.Path] != i {
			continue
		}
		sum := sha256.Sum256(f.Data)
		h := hex.EncodeToString(sum[:])
		if err := bs.ref(h, f.Data, 1); err != nil {
			return err
		}
		v := binary.AppendUvarint(nil, uint64(len(f.Data)))
		v = append(v, h...)
		if err := bs.files.Put(append(u64(seq), f.Path...), v); err != nil {
			return err
		}
	}
	return nil
}

// addCallbackCmd records a callback attempt (AddCallback).
type addCallbackCmd struct {
	ID       string
	Callback api.Callback
	Keep     int
}

func (c *addCallbackCmd) apply(tx *bolt.Tx) error {
	id, a, keep := c.ID, c.Callback, c.Keep
	seq, err := taskSeq(tx, id)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bucketHooks)
	if err != nil {
		return err
	}
	var list []api.Callback
	if v := b.Get(u64(seq)); v != nil {
		if err := json.Unmarshal(v, &list); err != nil {
			return fmt.Errorf("%w: the callbacks of %s: %v", ErrCorrupt, id, err)
		}
	}
	list = append(list, a)
	if len(list) > keep {
		list = list[len(list)-keep:]
	}
	v, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return b.Put(u64(seq), v)
}

// nameModuleCmd names a module (NameModule).
type nameModuleCmd struct {
	Name, Hash, Owner string
	Force             bool
}

func (c *nameModuleCmd) apply(tx *bolt.Tx) error {
	name, hash, owner, force := c.Name, c.Hash, c.Owner, c.Force
	if tx.Bucket(bucketModules).Get([]byte(hash)) == nil {
		return ErrNotFound
	}
	b, err := tx.CreateBucketIfNotExists(bucketNames)
	if err != nil {
		return err
	}
	if _, prev := splitName(b.Get([]byte(name))); prev != "" && prev != owner && !force {
		return &NameTakenError{Name: name, Owner: prev}
	}
	return b.Put([]byte(name), []byte(hash+owner))
}

// putBundleCmd records the files of a bundle (PutBundle).
type putBundleCmd struct {
	Name  string
	Files []Artifact
}

func (b *putBundleCmd) apply(tx *bolt.Tx) error {
	name, files := b.Name, b.Files
	nb, err := tx.CreateBucketIfNotExists(bucketBundles)
	if err != nil {
		return err
	}
	bs, err := blobBuckets(tx)
	if err != nil {
		return err
	}
	prefix := bundleKey(name, "")
	c := nb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		if _, n := binary.Uvarint(v); n > 0 {
			if err := bs.ref(string(v[n:]), nil, -1); err != nil {
				return err
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		h := hex.EncodeToString(sum[:])
		if nb.Get(bundleKey(name, f.Path)) != nil {
			continue // the first of one path
		}
		if err := bs.ref(h, f.Data, 1); err != nil {
			return err
		}
		v := binary.AppendUvarint(nil, uint64(len(f.Data)))
		if err := nb.Put(bundleKey(name, f.Path), append(v, h...)); err != nil {
			return err
		}
	}
	return nil
}

// createdTask is a new task of createTasksCmd: its id, its record and its
// runs.
type createdTask struct {
	ID   string
	Rec  []byte
	Runs runs
}

// runs are the runs of a command: as the domain has them, which is what
// goes to a replicated store's peers, and encoded for the store, once,
// outside the transaction (which is shared and single).
type runs struct {
	List []task.Run
	enc  []encodedRun
}

func newRuns(list []task.Run) (runs, error) {
	enc, err := encodeRuns(list)
	return runs{List: list, enc: enc}, err
}

// encoded returns the runs encoded, encoding them on a peer, where the
// command came without them (the writer checked that they encode).
func (r *runs) encoded() []encodedRun {
	if r.enc == nil && len(r.List) > 0 {
		r.enc, _ = encodeRuns(r.List)
	}
	return r.enc
}

// encoded returns the log entries encoded, encoding them on a peer.
func (c *appendLogsCmd) encoded() [][]byte {
	if c.enc == nil {
		c.enc = make([][]byte, len(c.Entries))
		for i := range c.Entries {
			c.enc[i] = encodeLog(&c.Entries[i])
		}
	}
	return c.enc
}
