package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// Recovery is what Recover did: what it copied from a damaged store file
// into a new one, and what it could not.
type Recovery struct {
	Path string // the store file: the new one, when the old was damaged
	// Whole means nothing was damaged: every record read back and Open took
	// the file; it was left as it is and nothing else below is set.
	Whole bool
	// Damaged is where the damaged file was kept, unchanged.
	Damaged string
	// Reason is why the file needed recovery: Open's error, or the first
	// damage found reading it.
	Reason string
	// Nothing is set when nothing could be read, and says why.
	Nothing string

	Size  int64 // bytes of the damaged file
	Reach int64 // bytes its newest tree of pages may use (more than Size: truncated)

	Copied Counts // records in the new file
	// Had is what the damaged file's counters said it held, when its meta
	// bucket could be read (HadKnown).
	Had      Counts
	HadKnown bool

	// LostTasks counts tasks whose record could not be read: their runs
	// and logs are dropped. LostIDs names some of them (by id when the ids
	// bucket had it, else by sequence number), with their dropped runs.
	LostTasks   int
	LostIDs     []string
	DroppedRuns int // records of runs whose task was lost
	DroppedLogs int // log entries whose task was lost
	// Requeued counts runs of copied tasks whose record was lost: they are
	// scheduled to run again, as a run that was running when the gateway
	// died is.
	Requeued int
	// NoModule counts copied tasks whose module was lost: their runs fail.
	NoModule int
	// BadRecords counts records read but refused by the codec (or, for a
	// module, by its hash); each is lost as its kind says above.
	BadRecords int
	// Orphans counts leaf pages that no tree reached, found by reading the
	// whole file when a tree lost a page: the records below a lost branch
	// page. They may also be pages bbolt had freed (when the freelist is
	// lost too), so they may bring back older versions of records, which
	// never replace newer ones, and records deleted before the damage.
	Orphans int
	// Pages are the pages that could not be read, and the buckets they
	// belonged to: what they held is lost and not counted above.
	Pages []PageLoss
}

// Counts are records of each kind.
type Counts struct {
	Tasks, Runs, Modules, Logs int
	LogBytes                   int64
}

// lossless reports whether the copy holds everything the file held.
func (r *Recovery) lossless() bool {
	return r.Nothing == "" && r.LostTasks == 0 && r.DroppedRuns == 0 && r.DroppedLogs == 0 &&
		r.Requeued == 0 && r.NoModule == 0 && r.BadRecords == 0 && len(r.Pages) == 0 &&
		(!r.HadKnown || (r.Had.Tasks == r.Copied.Tasks && r.Had.Runs == r.Copied.Runs && r.Had.Modules == r.Copied.Modules))
}

// maxNamed bounds Recovery.LostIDs.
const maxNamed = 20

// Recover makes the store file at path readable again. If Open takes the
// file and every record in it reads back, it does nothing and says Whole.
// Otherwise it copies every record it can read, checked by the codec the
// store reads it with, into a new store file; renames the damaged file to
// path.damaged-TIME beside it, byte for byte as it was (it is never
// deleted); and puts the new file at path. Reading never goes through
// bbolt's memory map: see pageFile.
//
// What is lost: a task whose record cannot be read is lost with its runs
// and logs (they are counted, not copied); a run of a copied task whose
// record cannot be read is scheduled again; a module that cannot be read
// or does not match its hash is lost, and its tasks' runs fail. Log
// entries are renumbered to close the gaps lost entries leave.
//
// It fails, changing nothing, when another process holds the file, when
// the file was written by a newer format, or when the new file cannot be
// written.
func Recover(path string, now time.Time) (*Recovery, error) {
	rec := &Recovery{Path: path}
	tmp := path + ".recovering"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recover store: %w", err)
	}
	if err := copyLocked(path, rec, tmp); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("recover store %s: %w", path, err)
	}
	if rec.lossless() {
		// Every record read back. Open decides whether the file is whole:
		// it also checks what holds no records (the free pages, and that
		// no page is used twice). It is asked only now, because it writes
		// to a file it takes, and a damaged file is kept as it was.
		err := tryOpen(path)
		switch {
		case err == nil:
			if err := os.Remove(tmp); err != nil {
				return nil, fmt.Errorf("recover store: %w", err)
			}
			return &Recovery{Path: path, Whole: true, Size: rec.Size}, nil
		case errors.Is(err, berrors.ErrTimeout):
			os.Remove(tmp)
			return nil, fmt.Errorf("recover store: %w", err)
		}
		rec.Reason = err.Error()
	} else {
		rec.Reason = rec.firstDamage()
	}
	rec.Damaged = damagedName(path, now)
	if err := os.Rename(path, rec.Damaged); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("recover store: keep the damaged file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("recover store: the damaged file is kept as %s, but the recovered one could not take its place (it is %s): %w", rec.Damaged, tmp, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("recover store: %w", err)
	}
	return rec, nil
}

// copyLocked copies what can be read of the store file at path into a new
// store at dst, holding the file's lock meanwhile, so that no gateway
// writes to it during the copy.
func copyLocked(path string, rec *Recovery, dst string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return err
	}
	if rec.Size, err = fileSize(f); err != nil {
		return err
	}
	return copyReadable(f, rec, dst)
}

// tryOpen opens and closes the store at path, to learn whether Open
// takes it.
func tryOpen(path string) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	return s.Close()
}

// damagedName is a name beside path for the damaged file, one no file
// has yet.
func damagedName(path string, now time.Time) string {
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s.%d", base, i)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// firstDamage describes the first damage found, for Reason.
func (r *Recovery) firstDamage() string {
	switch {
	case r.Nothing != "":
		return r.Nothing
	case len(r.Pages) > 0:
		return r.Pages[0].String()
	case r.BadRecords > 0:
		return fmt.Sprintf("%d records do not decode", r.BadRecords)
	}
	return "records are missing"
}

// copyReadable reads the store file f and writes what it can read into a
// new store at dst.
func copyReadable(f *os.File, rec *Recovery, dst string) error {
	s, err := Open(dst, Options{NoSync: true}) // synced once, at the end
	if err != nil {
		return err
	}
	c := &copier{rec: rec, w: &batchWriter{db: s.db}, tasks: map[uint64]*keptTask{},
		ids: map[string]uint64{}, lost: map[uint64]*lostTask{}}
	err = c.copyAll(f)
	if err == nil {
		err = c.w.flush()
	}
	if err == nil && rec.Nothing == "" {
		err = c.finish(s.db)
	}
	if err == nil {
		err = s.db.Sync()
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// copier is one run of copyReadable.
type copier struct {
	rec   *Recovery
	w     *batchWriter
	tasks map[uint64]*keptTask // by sequence
	ids   map[string]uint64
	lost  map[uint64]*lostTask // tasks known to have been, whose record is lost
	err   error                // the first write error: it stops the copy
}

type keptTask struct {
	runs   int    // its RunCount
	module string // its module's hash
	due    func(i int) time.Time
}

type lostTask struct {
	id   string
	runs int
}

// The order buckets are copied in: a run or a log entry is copied only if
// its task was.
var copyOrder = [][]byte{bucketTasks, bucketIDs, bucketRuns, bucketLogs, bucketModules}

func (c *copier) copyAll(f *os.File) error {
	rec := c.rec
	if rec.Size == 0 {
		rec.Nothing = "the file is empty (0 bytes)"
		return nil
	}
	pf, err := openPages(f, rec.Size)
	if err != nil {
		rec.Nothing = err.Error()
		return nil
	}
	rec.Reach = pf.reach()
	defer func() { rec.Pages = pf.bad }()
	bks := pf.buckets()
	if err := c.meta(pf, bks[string(bucketMeta)]); err != nil {
		return err
	}
	trees := map[string]tree{}
	for _, name := range allBuckets[1:] {
		if bytes.Equal(name, bucketResults) {
			continue // derived from the runs: made again (finish)
		}
		if hdr := bks[string(name)]; hdr != nil {
			trees[string(name)] = pf.collect(string(name), hdr)
		} else if len(bks) > 0 {
			pf.lose(string(name), 0, "the bucket is missing (its entry in the tree of buckets is lost)")
		}
	}
	// Leaf pages no tree reaches are looked for only when a tree lost a
	// page: in a whole file they are free pages, older versions of
	// records, and must not come back.
	var orphans map[string][]uint64
	if len(pf.bad) > 0 {
		orphans = pf.orphans(classify)
	}
	for _, ids := range orphans {
		rec.Orphans += len(ids)
	}
	if len(bks) == 0 && rec.Orphans == 0 {
		rec.Nothing = "the tree of buckets cannot be read and no page of records was found"
		if len(pf.bad) > 0 {
			rec.Nothing = "the page that lists the buckets cannot be read (" + pf.bad[0].Reason + ") and no page of records was found"
		}
		return nil
	}
	if hdr := bks[string(bucketTasks)]; len(hdr) >= bucketHeaderSize {
		// NextSequence must go on above every sequence the file gave out.
		c.w.sequence = le.Uint64(hdr[8:])
	}
	handlers := map[string]func(k, v []byte, orphan bool){
		string(bucketTasks): c.task, string(bucketIDs): c.id, string(bucketRuns): c.run,
		string(bucketLogs): c.log, string(bucketModules): c.module,
	}
	for _, name := range copyOrder {
		fn := handlers[string(name)]
		visit := func(orphan bool) leafFunc {
			return func(k, v []byte, bucket bool) {
				switch {
				case c.err != nil:
				case bucket:
					c.rec.BadRecords++
				default:
					fn(k, v, orphan)
				}
			}
		}
		pf.walk(string(name), trees[string(name)], visit(false))
		for _, id := range orphans[string(name)] {
			pf.walkLeaf(string(name), id, visit(true))
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

// classify names the bucket a leaf page found outside every tree belongs
// to: the one whose records all its elements are, checked by the codec. ""
// leaves it out (the log states and counters are made anew).
func classify(page []byte) string {
	kinds := []struct {
		name []byte
		ok   func(k, v []byte) bool
	}{
		{bucketTasks, func(k, v []byte) bool { _, err := decodeTask(v); return len(k) == 8 && err == nil }},
		{bucketRuns, func(k, v []byte) bool { _, err := decodeRun(v, 0); return len(k) == 12 && err == nil }},
		{bucketLogs, func(k, v []byte) bool { _, err := decodeLog(v); return len(k) == 16 && err == nil }},
		{bucketModules, func(k, v []byte) bool { return moduleOK(k, v) }},
		{bucketIDs, func(k, v []byte) bool { return len(v) == 8 && len(k) > 0 }},
	}
	for _, kind := range kinds {
		all, n := true, 0
		err := leafElements(page, func(k, v []byte, bucket bool) {
			n++
			all = all && !bucket && kind.ok(k, v)
		})
		if err == nil && all && n > 0 {
			return string(kind.name)
		}
	}
	return ""
}

func moduleOK(k, v []byte) bool {
	sum := sha256.Sum256(v)
	return hashPattern.Match(k) && hex.EncodeToString(sum[:]) == string(k)
}

// meta reads the damaged file's format and counters. A file of a newer
// format is not recovered: this binary would misread it.
func (c *copier) meta(pf *pageFile, hdr []byte) error {
	if hdr == nil {
		return nil
	}
	vals := map[string]uint64{}
	pf.walk(string(bucketMeta), pf.collect(string(bucketMeta), hdr), func(k, v []byte, _ bool) {
		if len(v) == 8 {
			vals[string(k)] = beUint64(v)
		}
	})
	if v, ok := vals[string(keyFormat)]; ok && v > format {
		return fmt.Errorf("the store has format %d, newer than this shoal binary reads (%d): recover it with a newer shoal", v, format)
	}
	had := &c.rec.Had
	_, c.rec.HadKnown = vals[string(counterTasks)]
	had.Tasks, had.Runs, had.Modules = int(vals[string(counterTasks)]), int(vals[string(counterRuns)]), int(vals[string(counterModules)])
	had.LogBytes = int64(vals[string(counterLogBytes)])
	return nil
}

// task copies a task record. A record from a page no tree reached may be
// an older version of one already copied: a version that is canceled
// replaces one that is not (a task only moves to canceled).
func (c *copier) task(k, v []byte, orphan bool) {
	if len(k) != 8 {
		c.rec.BadRecords++
		return
	}
	seq := beUint64(k)
	r, err := decodeTask(v)
	if err != nil || r.Spec.ID == "" {
		c.rec.BadRecords++
		c.lostTask(seq, "")
		return
	}
	if other, taken := c.ids[r.Spec.ID]; taken && other != seq {
		if !orphan { // two tasks of one id: the later is refused
			c.rec.BadRecords++
			c.lostTask(seq, "")
		}
		return
	}
	c.ids[r.Spec.ID] = seq
	delete(c.lost, seq)
	if c.tasks[seq] == nil {
		sp, created := r.Spec, r.Created
		c.tasks[seq] = &keptTask{runs: sp.RunCount(), module: sp.Module, due: func(i int) time.Time { return sp.Due(created, i) }}
	}
	c.w.sequence = max(c.w.sequence, seq)
	var merge func(old, v []byte) bool
	if orphan {
		merge = func(old, v []byte) bool {
			prev, err := decodeTask(old)
			return err != nil || (!prev.Canceled && r.Canceled)
		}
	}
	c.put(bucketTasks, k, v, merge)
	c.put(bucketIDs, []byte(r.Spec.ID), k, keepOld)
}

// keepOld is the merge of records that never change: the first copy stays.
func keepOld(old, v []byte) bool { return false }

// id learns the ids of lost tasks from the ids bucket; the copy's ids are
// made from the copied task records.
func (c *copier) id(k, v []byte, _ bool) {
	if len(v) != 8 {
		return
	}
	if seq := beUint64(v); c.tasks[seq] == nil {
		c.lostTask(seq, string(k))
	}
}

func (c *copier) lostTask(seq uint64, id string) *lostTask {
	l := c.lost[seq]
	if l == nil {
		l = &lostTask{}
		c.lost[seq] = l
	}
	if id != "" {
		l.id = id
	}
	return l
}

// run copies a run record. One from a page no tree reached replaces the
// copy only where the store's own rule lets a save replace a record: a
// later attempt, or the same attempt's end.
func (c *copier) run(k, v []byte, orphan bool) {
	if len(k) != 12 {
		c.rec.BadRecords++
		return
	}
	seq, index := beUint64(k), beUint32(k[8:])
	t := c.tasks[seq]
	if t == nil {
		c.lostTask(seq, "").runs++
		c.rec.DroppedRuns++
		return
	}
	r, err := decodeRun(v, index)
	if err != nil || int(index) >= t.runs {
		c.rec.BadRecords++ // scheduled again by finish
		return
	}
	var merge func(old, v []byte) bool
	if orphan {
		enc := encodedRun{index: index, attempt: r.Attempt, done: r.Status.Done()}
		merge = func(old, _ []byte) bool {
			stale, err := older(old, enc)
			return err != nil || !stale
		}
	}
	c.put(bucketRuns, k, v, merge)
}

func (c *copier) log(k, v []byte, orphan bool) {
	if len(k) != 16 {
		c.rec.BadRecords++
		return
	}
	if c.tasks[beUint64(k)] == nil {
		c.lostTask(beUint64(k), "")
		c.rec.DroppedLogs++
		return
	}
	if _, err := decodeLog(v); err != nil {
		c.rec.BadRecords++
		return
	}
	c.put(bucketLogs, k, v, orphanMerge(orphan))
}

func (c *copier) module(k, v []byte, orphan bool) {
	if !moduleOK(k, v) {
		c.rec.BadRecords++
		return
	}
	c.put(bucketModules, k, v, orphanMerge(orphan))
}

func orphanMerge(orphan bool) func(old, v []byte) bool {
	if orphan {
		return keepOld
	}
	return nil
}

func (c *copier) put(bucket, k, v []byte, merge func(old, v []byte) bool) {
	if c.err == nil {
		c.err = c.w.put(bucket, k, v, merge)
	}
}

// finish makes the copy whole, in the new file db: it schedules again the
// runs of copied tasks whose records were lost, numbers each task's log
// entries from 0 without gaps (the store drops a log's oldest entry by its
// number) and writes their windows, sets the counters, and sums up.
func (c *copier) finish(db *bolt.DB) error {
	rec := c.rec
	seqs := slices.Sorted(maps.Keys(c.tasks))
	for chunk := range slices.Chunk(seqs, 1000) {
		if err := update(db, func(tx *bolt.Tx) error { return c.finishTasks(tx, chunk) }); err != nil {
			return err
		}
	}
	err := update(db, func(tx *bolt.Tx) error {
		// Each task's result run is marked again from the runs copied.
		if tx.Bucket(bucketResults) != nil {
			if err := tx.DeleteBucket(bucketResults); err != nil {
				return err
			}
		}
		if err := markResults(tx); err != nil {
			return err
		}
		rec.Copied.Tasks = tx.Bucket(bucketTasks).Stats().KeyN
		rec.Copied.Runs = tx.Bucket(bucketRuns).Stats().KeyN - rec.Requeued
		rec.Copied.Modules = tx.Bucket(bucketModules).Stats().KeyN
		rec.Copied.Logs = tx.Bucket(bucketLogs).Stats().KeyN
		modules := tx.Bucket(bucketModules)
		for _, t := range c.tasks {
			if modules.Get([]byte(t.module)) == nil {
				rec.NoModule++
			}
		}
		m := tx.Bucket(bucketMeta)
		for _, kv := range []struct {
			k []byte
			n int64
		}{
			{counterTasks, int64(rec.Copied.Tasks)}, {counterRuns, int64(rec.Copied.Runs + rec.Requeued)},
			{counterModules, int64(rec.Copied.Modules)}, {counterLogBytes, rec.Copied.LogBytes},
		} {
			if err := m.Put(kv.k, u64(uint64(kv.n))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rec.LostTasks = len(c.lost)
	if rec.HadKnown {
		rec.LostTasks = max(rec.LostTasks, rec.Had.Tasks-rec.Copied.Tasks)
	}
	for _, seq := range slices.Sorted(maps.Keys(c.lost)) {
		if len(rec.LostIDs) == maxNamed {
			break
		}
		l := c.lost[seq]
		name := l.id
		if name == "" {
			name = fmt.Sprintf("#%d", seq)
		}
		rec.LostIDs = append(rec.LostIDs, fmt.Sprintf("%s (%d runs dropped)", name, l.runs))
	}
	return nil
}

// finishTasks is finish for the tasks of sequences seqs.
func (c *copier) finishTasks(tx *bolt.Tx, seqs []uint64) error {
	runs, logs, states := tx.Bucket(bucketRuns), tx.Bucket(bucketLogs), tx.Bucket(bucketLogState)
	for _, seq := range seqs {
		t := c.tasks[seq]
		// Runs are stored as they end (the scheduler makes them as they
		// come): a run above the highest one stored either never ended or
		// was lost, and comes again either way. Below it, a missing record
		// was lost: it is scheduled to run again.
		top := -1
		if k, _ := runs.Cursor().Seek(u64(seq)); k != nil && beUint64(k) == seq {
			top = int(highestRun(tx, seq))
		}
		for i := range min(t.runs, top+1) {
			if runs.Get(runKey(seq, uint32(i))) != nil {
				continue
			}
			r := task.Run{Index: i, Status: task.Scheduled, Due: t.due(i)}
			if err := runs.Put(runKey(seq, uint32(i)), encodeRun(&r)); err != nil {
				return err
			}
			c.rec.Requeued++
		}
		prefix := u64(seq)
		var keys, entries [][]byte
		cur := logs.Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			keys = append(keys, append([]byte(nil), k...))
			entries = append(entries, append([]byte(nil), v...))
		}
		if len(entries) == 0 {
			continue
		}
		for _, k := range keys {
			if err := logs.Delete(k); err != nil {
				return err
			}
		}
		var size uint64
		for n, v := range entries {
			e, err := decodeLog(v)
			if err != nil {
				return err
			}
			size += uint64(len(e.Data))
			if err := logs.Put(logKey(seq, uint64(n)), v); err != nil {
				return err
			}
		}
		if err := states.Put(prefix, logState{first: 0, next: uint64(len(entries)), size: size}.encode()); err != nil {
			return err
		}
		c.rec.Copied.LogBytes += int64(size)
	}
	return nil
}

// batchWriter writes records in transactions of a bounded size: a
// recovered store may be larger than memory allows in one.
type batchWriter struct {
	db       *bolt.DB
	puts     []putOp
	bytes    int
	sequence uint64 // the tasks bucket's NextSequence base, set by flush
}

// putOp is one record to write. merge, when set, decides whether v
// replaces a record the new file has under k already.
type putOp struct {
	bucket, k, v []byte
	merge        func(old, v []byte) bool
}

const (
	batchBytes   = 32 << 20
	batchRecords = 50_000
)

// put copies k and v: they belong to a page buffer of the damaged file.
func (w *batchWriter) put(bucket, k, v []byte, merge func(old, v []byte) bool) error {
	w.puts = append(w.puts, putOp{bucket, append([]byte(nil), k...), append([]byte(nil), v...), merge})
	w.bytes += len(k) + len(v)
	if w.bytes >= batchBytes || len(w.puts) >= batchRecords {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	puts := w.puts
	w.puts, w.bytes = nil, 0
	return update(w.db, func(tx *bolt.Tx) error {
		for _, p := range puts {
			b := tx.Bucket(p.bucket)
			b.FillPercent = appendFill
			if p.merge != nil {
				if old := b.Get(p.k); old != nil && !p.merge(old, p.v) {
					continue
				}
			}
			if err := b.Put(p.k, p.v); err != nil {
				return fmt.Errorf("write bucket %s: %w", p.bucket, err)
			}
		}
		tasks := tx.Bucket(bucketTasks)
		if w.sequence > tasks.Sequence() {
			return tasks.SetSequence(w.sequence)
		}
		return nil
	})
}
